"""Loaders: one per source kind. Each parses and validates a file into a GraphBatch; commit writes it.

:func:`load_paths` is the entry point: it recognises each file's kind from its name or header,
loads a directory's files in dependency order (parts before the components that fit them,
equipment before work orders), and makes sure the ISO 14224 vocabulary is there first.
Each file is its own source: loaded completely or, if refused, not at all.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from pathlib import Path

from maintgraph.errors import LoadError
from maintgraph.graph.base import GraphStore
from maintgraph.graph.loaders import assets, fmea, procedures, work_orders
from maintgraph.graph.loaders.batch import GraphBatch, LoadReport, commit
from maintgraph.graph.loaders.tabular import Column, normalise_header
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


def _fit(header: set[str], columns: list[Column], exact: bool) -> float:
    """Share of the required columns the header has (0 when an exact kind has extra columns)."""
    found, required, hits = set(), 0, 0
    for column in columns:
        hit = {normalise_header(a) for a in (column.name, *column.synonyms)} & header
        found |= hit
        if column.required:
            required, hits = required + 1, hits + bool(hit)
    if exact and found != header:
        return 0.0
    return hits / required


def detect_kind(path: Path) -> str | None:
    """The loader kind of a file: from its header (sheets) or its name (YAML); None if unsure.

    A sheet with most of a kind's columns counts as that kind, so that its loader can refuse
    it naming the columns it lacks."""
    suffix = path.suffix.lower()
    if suffix in {".csv", ".xlsx", ".xlsm"}:
        header = _header(path)
        scores = [(_fit(header, columns, kind in _EXACT), kind) for kind, columns in _SHEET_COLUMNS]
        complete = next((kind for score, kind in scores if score == 1.0), None)
        best_score, best_kind = max(scores, key=lambda pair: pair[0])
        return complete or (best_kind if best_score >= 0.6 else None)
    if suffix in {".yaml", ".yml"}:
        stem = path.stem.lower()
        return next((kind for hint, kind in _YAML_NAME_HINTS if hint in stem), None)
    return None


def _header(path: Path) -> set[str]:
    try:
        if path.suffix.lower() == ".csv":
            with path.open(newline="", encoding="utf-8-sig") as handle:
                first = next(csv.reader(handle), [])
        else:
            from openpyxl import load_workbook

            book = load_workbook(path, read_only=True)
            first = next(book.worksheets[0].iter_rows(values_only=True), ())
            book.close()
    except (OSError, UnicodeDecodeError, ValueError, KeyError):
        return set()
    return {normalise_header(str(h)) for h in first if h is not None}


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


def plan(paths: Iterable[Path], kind: str | None = None) -> tuple[list[tuple[Path, str]], list[str]]:
    """(file, kind) pairs in load order, and the files that were not recognised."""
    found: list[tuple[Path, str]] = []
    unrecognised: list[str] = []
    for path in paths:
        files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if not file.exists():
                raise LoadError(str(file), ["no such file"])
            file_kind = kind or detect_kind(file)
            if file_kind is None and not path.is_dir():
                raise LoadError(str(file), ["cannot tell what kind of source this is from its header or name; "
                                            f"name it with --kind ({', '.join(KINDS)})"])  # fmt: skip
            if file_kind is None:
                unrecognised.append(str(file))
            else:
                found.append((file, file_kind))
    found.sort(key=lambda item: ORDER.index(item[1]))
    return found, unrecognised


def load_file(store: GraphStore, path: Path, kind: str) -> LoadReport:
    if kind not in KINDS:
        raise LoadError(str(path), [f"unknown kind {kind!r} (known: {', '.join(KINDS)})"])
    reader, needs_codes = KINDS[kind]
    source, former = source_id(path), [former_source_id(path)]
    if needs_codes:
        codes = {r["c"] for r in store.read("MATCH (f:FailureMode) RETURN f.code AS c")}
        return commit(store, reader(path, source, codes), former)
    return commit(store, reader(path, source), former)


def load_paths(
    store: GraphStore,
    paths: Iterable[Path],
    kind: str | None = None,
    on_loaded: Callable[[LoadReport, str], None] | None = None,
) -> list[LoadReport]:
    """Load files and folders; raises LoadError for the first refused file (earlier files stay loaded).

    ``on_loaded(report, kind)`` is called after each source, e.g. to print progress."""
    files, _ = plan(paths, kind)
    loaded: list[tuple[LoadReport, str]] = []
    vocab = ensure_vocabulary(store)
    if vocab:
        loaded.append((vocab, "vocabulary"))
        if on_loaded:
            on_loaded(vocab, "vocabulary")
    for file, file_kind in files:
        report = load_file(store, file, file_kind)
        loaded.append((report, file_kind))
        if on_loaded:
            on_loaded(report, file_kind)
    return [report for report, _ in loaded]
