"""Loaders: one per source kind. Each parses and validates a file into a GraphBatch; commit writes it.

:func:`load_paths` is the entry point: it recognises each file's kind from its name or header,
loads a directory's files in dependency order (parts before the components that fit them,
equipment before work orders), and makes sure the ISO 14224 vocabulary is there first.
Each file is its own source. A sheet is recognised only when it has every column its kind
requires (or when a mapping file, ``FILE.mapping.yaml`` beside it or one given, says its kind
and columns: :mod:`maintgraph.graph.loaders.mapping`); a folder's other files are listed with
the reason, never guessed at.

:func:`load_all` is what ``graph load`` runs: by default a file's rows with problems are left
out and reported while its good rows load, and a refused file does not stop the others
(``strict=True``: any problem refuses the file). :func:`load_paths` is the strict,
stop-at-the-first-refusal form the tests and the library use.
"""

from __future__ import annotations

import functools
import inspect
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from maintgraph.errors import LoadError
from maintgraph.graph.base import GraphStore
from maintgraph.graph.loaders import assets, fmea, procedures, work_orders
from maintgraph.graph.loaders.batch import GraphBatch, LoadReport, commit
from maintgraph.graph.loaders.mapping import SheetMapping, is_mapping_file, mapping_beside, read_mapping
from maintgraph.graph.loaders.mode_mapping import ModeMapper
from maintgraph.graph.loaders.tabular import Column, match_columns, normalise_header, sheet_header
from maintgraph.graph.loaders.vocab import load_vocabulary

# kind -> (reader, needs the known failure-mode codes)
Reader = Callable[..., GraphBatch]
KINDS: dict[str, tuple[Reader, bool]] = {
    "spare_parts": (assets.read_spare_parts, False),
    "assets": (assets.read_asset_register, False),
    "components": (assets.read_components, False),
    "sensors": (assets.read_sensors, False),
    "fmea": (fmea.read_fmea, True),
    "loto": (procedures.read_loto, False),
    "procedures": (procedures.read_procedures, False),
    "work_orders": (work_orders.read_plant_work_orders, True),
    "assetopsbench_codes": (work_orders.read_assetopsbench_codes, False),
    "assetopsbench_work_orders": (work_orders.read_assetopsbench_work_orders, True),
    "maintkg": (work_orders.read_maintkg, False),
}
ORDER = list(KINDS)
# Loaders that read a whole SheetMapping (columns, date_format, defaults); the others take its columns.
_WHOLE_MAPPING = {"assets", "components", "sensors", "spare_parts", "work_orders"}

# Sheet kinds in the order they are tried (most specific first), with the columns that identify them.
_SHEET_COLUMNS: list[tuple[str, list[Column]]] = [
    ("assetopsbench_work_orders", work_orders.AOB_WO_COLUMNS),
    ("assetopsbench_codes", work_orders.AOB_CODE_COLUMNS),
    ("maintkg", work_orders.MAINTKG_COLUMNS),
    ("fmea", fmea.FMEA_COLUMNS),
    ("work_orders", work_orders.PLANT_COLUMNS),
    ("components", assets.COMPONENT_COLUMNS),
    ("sensors", assets.SENSOR_COLUMNS),
    ("assets", assets.ASSET_COLUMNS),
    ("spare_parts", assets.PART_COLUMNS),
]
# Kinds whose header must hold nothing else (other sheets reuse their column names).
_EXACT = {"assetopsbench_codes"}
# YAML has no header: its name says what it holds.
_YAML_NAME_HINTS: list[tuple[str, str]] = [("loto", "loto"), ("lockout", "loto"), ("procedure", "procedures")]


def _fit(header: list[str], columns: list[Column], exact: bool) -> float:
    """Share of the required columns the header has (0 when an exact kind has extra columns);
    headers matched by tokens (:func:`~maintgraph.graph.loaders.tabular.match_columns`)."""
    found = match_columns(header, columns)
    if exact and len(found) != len([h for h in header if h]):
        return 0.0
    required = [c for c in columns if c.required]
    return sum(c.name in found for c in required) / len(required)


def _matched(header: list[str], columns: list[Column]) -> tuple[set[str], list[str]]:
    """(the header's names that are one of these columns, the required columns it lacks)."""
    found = match_columns(header, columns)
    return {normalise_header(header[i]) for i in found.values()}, [
        c.name for c in columns if c.required and c.name not in found
    ]


def recognise(path: Path, nearest_share: float | None = None) -> tuple[str | None, str]:
    """(the loader kind of a file, or None with the reason it is not recognised).

    A sheet is of a kind when it has every column the kind requires (its identifying columns;
    an exact kind's header holds nothing else); a YAML list by its name. ``nearest_share``: also
    take the kind whose required columns the sheet has at least this share of (a file named on
    its own, so that its loader refuses it naming the columns it lacks)."""
    suffix = path.suffix.lower()
    if suffix in {".csv", ".xlsx", ".xlsm"}:
        written = _header_as_written(path)
        header = written
        if not header:
            return None, "no header row could be read"
        nearest: tuple[int, str, list[str]] | None = None
        fits = [(_fit(header, columns, kind in _EXACT), kind) for kind, columns in _SHEET_COLUMNS]
        complete = next((kind for score, kind in fits if score == 1.0), None)
        if complete:
            return complete, ""
        best_score, best_kind = max(fits, key=lambda pair: pair[0])
        if nearest_share is not None and best_score >= nearest_share:
            return best_kind, ""
        for kind, columns in _SHEET_COLUMNS:
            found, missing = _matched(header, columns)
            if kind not in _EXACT and found and (nearest is None or len(found) > nearest[0]):
                nearest = (len(found), kind, missing)
        near = f" (nearest: {nearest[1]}, which also needs {', '.join(nearest[2])})" if nearest else ""
        return None, (f"columns {', '.join(written)} match no source kind{near}; write a mapping with "
                      f"`maintgraph graph map {path}`")  # fmt: skip
    if suffix in {".yaml", ".yml"}:
        stem = path.stem.lower()
        kind = next((kind for hint, kind in _YAML_NAME_HINTS if hint in stem), None)
        if kind is None:
            return None, "a YAML file whose name says neither LOTO nor procedure"
        return kind, ""
    return None, "not a sheet (CSV, XLSX) nor a YAML list of procedures"


def detect_kind(path: Path) -> str | None:
    """The loader kind of a file: from its header (sheets) or its name (YAML); None if unsure."""
    return recognise(path)[0]


def _header(path: Path) -> set[str]:
    return {normalise_header(h) for h in _header_as_written(path)}


def _header_as_written(path: Path) -> list[str]:
    """The header row: the row among the first few that fits a sheet kind best (title and notes
    rows above it skipped; :func:`~maintgraph.graph.loaders.tabular.sheet_header`)."""
    try:
        return sheet_header(path, [columns for _kind, columns in _SHEET_COLUMNS])
    except (OSError, UnicodeDecodeError, ValueError, KeyError, StopIteration, zipfile.BadZipFile, LoadError):
        return []


def source_id(path: Path) -> str:
    """Stable id of a file as a source: its resolved path (``/srv/data/plant/fmea.csv``), so two
    files of the same name in same-named folders elsewhere are two sources."""
    return path.resolve().as_posix()


def former_source_id(path: Path) -> str:
    """The id earlier versions gave the file: its folder and name (``plant/fmea.csv``). A graph
    loaded under it is renamed to :func:`source_id` when the file is next loaded."""
    resolved = path.resolve()
    return f"{resolved.parent.name}/{resolved.name}"


def ensure_vocabulary(store: GraphStore) -> LoadReport | None:
    if store.read("MATCH (c:EquipmentClass) RETURN count(c) AS n")[0]["n"] == 0:
        return load_vocabulary(store)
    return None


def plan(
    paths: Iterable[Path], kind: str | None = None, mapping: SheetMapping | None = None
) -> tuple[list[tuple[Path, str]], list[str]]:
    """(file, kind) pairs in load order, and the folders' files that were not recognised, each
    as ``file: reason``. A file named on its own that is not recognised is refused (LoadError).

    A sheet's kind comes from ``kind``, else from ``mapping`` or the mapping file beside it,
    else from its header. Mapping files themselves are not sources."""
    found: list[tuple[Path, str]] = []
    unrecognised: list[str] = []
    for path in paths:
        for file in _files(path):
            file_kind, reason = _classify(path, file, kind, mapping)
            if file_kind is None:
                unrecognised.append(f"{file}: {reason}")
            else:
                found.append((file, file_kind))
    found.sort(key=lambda item: ORDER.index(item[1]))
    return found, unrecognised


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.is_file() and not is_mapping_file(p))
    return [path]


def _classify(path: Path, file: Path, kind: str | None, mapping: SheetMapping | None) -> tuple[str | None, str]:
    """(kind, "") or (None, why not) for a folder's file; LoadError for a named file not recognised."""
    if not file.exists():
        raise LoadError(str(file), [f"{file}: no such file"])
    file_kind, reason = (kind, "") if kind else _kind_of(file, mapping, named=not path.is_dir())
    if file_kind is None and not path.is_dir():
        raise LoadError(str(file), [f"{file}: not recognised: {reason}; or name its kind with --kind "
                                    f"({', '.join(KINDS)})"])  # fmt: skip
    return file_kind, reason


def _is_sheet(path: Path) -> bool:
    return path.suffix.lower() in {".csv", ".xlsx", ".xlsm"}


def _mapping_for(path: Path, given: SheetMapping | None) -> SheetMapping | None:
    if not _is_sheet(path):
        return None
    if given is not None:
        return given
    beside = mapping_beside(path)
    return read_mapping(beside) if beside else None


def _kind_of(path: Path, mapping: SheetMapping | None, named: bool = False) -> tuple[str | None, str]:
    found = _mapping_for(path, mapping)
    if found is not None:
        return found.kind, ""
    return recognise(path, 0.6 if named else None)


def load_file(
    store: GraphStore,
    path: Path,
    kind: str,
    *,
    strict: bool = True,
    mapping: SheetMapping | None = None,
    mode_mapper: ModeMapper | None = None,
) -> LoadReport:
    """Load one file as its own source. ``strict``: any problem refuses it; otherwise rows with
    problems are left out and reported. ``mapping``: its kind and columns (else a mapping file
    beside the sheet is used when there is one). ``mode_mapper``: free-text failure modes -> ISO
    codes for the loaders that take them (default: the vocabulary's words only)."""
    if kind not in KINDS:
        raise LoadError(str(path), [f"unknown kind {kind!r} (known: {', '.join(KINDS)})"])
    reader, needs_codes = KINDS[kind]
    source, former = source_id(path), [former_source_id(path)]
    args: list = [path, source]
    if needs_codes:
        args.append({r["c"] for r in store.read("MATCH (f:FailureMode) RETURN f.code AS c")})
    if mode_mapper is not None and "mode_mapper" in inspect.signature(reader).parameters:
        reader = functools.partial(reader, mode_mapper=mode_mapper)
    sheet_mapping = _mapping_for(path, mapping)
    if sheet_mapping is not None:
        if sheet_mapping.kind != kind:
            raise LoadError(source, [f"{source}: the mapping says {sheet_mapping.kind}, not {kind}"])
        if "mapping" not in inspect.signature(reader).parameters:
            raise LoadError(source, [f"{source}: the {kind} loader does not take a column mapping yet"])
        if kind in _WHOLE_MAPPING:
            return commit(store, reader(*args, mapping=sheet_mapping), former, strict=strict)
        if sheet_mapping.defaults or sheet_mapping.date_format:
            raise LoadError(source, [f"{source}: a {kind} mapping takes only kind and columns (not defaults "
                                     "or date_format)"])  # fmt: skip
        return commit(store, reader(*args, mapping=dict(sheet_mapping.columns)), former, strict=strict)
    return commit(store, reader(*args), former, strict=strict)


@dataclass
class LoadOutcome:
    """What a :func:`load_all` did: each loaded source with its kind, the refused files, the
    folders' files it did not recognise (``file: reason``)."""

    loaded: list[tuple[LoadReport, str]] = field(default_factory=list)
    refused: list[LoadError] = field(default_factory=list)
    unrecognised: list[str] = field(default_factory=list)

    @property
    def reports(self) -> list[LoadReport]:
        return [report for report, _ in self.loaded]

    def summary(self) -> str:
        files = [report for report, kind in self.loaded if kind != "vocabulary"]
        return (f"{len(files)} files loaded, {sum(r.rows for r in files)} rows loaded, "
                f"{sum(r.rows_skipped for r in files)} rows skipped, {sum(len(r.warnings) for r in files)} warnings, "
                f"{len(self.refused)} files refused, {len(self.unrecognised)} files not recognised")  # fmt: skip


def load_all(
    store: GraphStore,
    paths: Iterable[Path],
    kind: str | None = None,
    *,
    strict: bool = False,
    mapping: SheetMapping | None = None,
    on_loaded: Callable[[LoadReport, str], None] | None = None,
    on_refused: Callable[[LoadError, str], None] | None = None,
    mode_mapper: ModeMapper | None = None,
) -> LoadOutcome:
    """Load every file it recognises; a refused file is reported and the others still load.

    ``strict``: a file with any problem is refused whole (else its good rows load and the
    others are reported). A file named on its own that is not recognised counts as refused."""
    outcome = LoadOutcome()
    files: list[tuple[Path, str]] = []
    for path in paths:
        for file in _files(path):
            try:
                file_kind, reason = _classify(path, file, kind, mapping)
            except LoadError as exc:  # a named file not recognised, a bad mapping file
                outcome.refused.append(exc)
                if on_refused:
                    on_refused(exc, "")
                continue
            if file_kind is None:
                outcome.unrecognised.append(f"{file}: {reason}")
            else:
                files.append((file, file_kind))
    files.sort(key=lambda item: ORDER.index(item[1]))
    _load_in_order(store, files, outcome, strict=strict, mapping=mapping, mode_mapper=mode_mapper,
                   on_loaded=on_loaded, on_refused=on_refused or (lambda exc, file_kind: None))  # fmt: skip
    return outcome


def _load_in_order(
    store: GraphStore,
    files: list[tuple[Path, str]],
    outcome: LoadOutcome,
    *,
    strict: bool,
    mapping: SheetMapping | None = None,
    mode_mapper: ModeMapper | None = None,
    on_loaded: Callable[[LoadReport, str], None] | None = None,
    on_refused: Callable[[LoadError, str], None] | None = None,
) -> None:
    """The vocabulary if the graph has none, then each (file, kind) in order. A refused file is
    recorded and passed to ``on_refused`` (the others still load), or raised when there is none."""
    vocab = ensure_vocabulary(store)
    if vocab:
        outcome.loaded.append((vocab, "vocabulary"))
        if on_loaded:
            on_loaded(vocab, "vocabulary")
    for file, file_kind in files:
        try:
            report = load_file(store, file, file_kind, strict=strict, mapping=mapping, mode_mapper=mode_mapper)
        except LoadError as exc:
            if on_refused is None:
                raise
            outcome.refused.append(exc)
            on_refused(exc, file_kind)
            continue
        outcome.loaded.append((report, file_kind))
        if on_loaded:
            on_loaded(report, file_kind)


def load_paths(
    store: GraphStore,
    paths: Iterable[Path],
    kind: str | None = None,
    on_loaded: Callable[[LoadReport, str], None] | None = None,
    *,
    strict: bool = True,
) -> list[LoadReport]:
    """Load files and folders; raises LoadError for the first refused file (earlier files stay loaded).

    ``on_loaded(report, kind)`` is called after each source, e.g. to print progress.
    ``strict=False``: rows with problems are left out and reported instead of refusing the file."""
    files, _ = plan(paths, kind)
    outcome = LoadOutcome()
    _load_in_order(store, files, outcome, strict=strict, on_loaded=on_loaded)
    return outcome.reports
