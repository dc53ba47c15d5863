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
from maintgraph.graph.loaders.tabular import normalise_header
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

# Header columns that identify a sheet's kind when its name does not.
_SIGNATURES: list[tuple[str, set[str]]] = [
    ("assetopsbench_work_orders", {"woid", "wodescription", "equipmentid"}),
    (
        "assetopsbench_codes",
        {"category", "primarycode", "primarycodedescription", "secondarycode", "secondarycodedescription"},
    ),
    ("maintkg", {"originalshorttext", "bscstartdate"}),
    ("fmea", {"severity", "occurrence", "detection"}),
    ("work_orders", {"number", "wotype", "reportedat"}),
    ("components", {"subunit", "component"}),
    ("sensors", {"sensorid", "measures"}),
    ("assets", {"tag", "classcode", "systemid"}),
    ("spare_parts", {"partnumber", "name"}),
]
# YAML has no header: its name says what it holds.
_YAML_NAME_HINTS: list[tuple[str, str]] = [("loto", "loto"), ("lockout", "loto"), ("procedure", "procedures")]


# Kinds whose header must be exactly the signature (other sheets reuse their column names).
_EXACT = {"assetopsbench_codes"}


def detect_kind(path: Path) -> str | None:
    """The loader kind of a file: from its header (sheets) or its name (YAML); None if unsure."""
    suffix = path.suffix.lower()
    if suffix in {".csv", ".xlsx", ".xlsm"}:
        header = _header(path)
        return next(
            (kind for kind, columns in _SIGNATURES if (columns == header if kind in _EXACT else columns <= header)),
            None,
        )
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
    """Stable id of a file as a source: its folder and name (``plant/fmea.csv``)."""
    return f"{path.resolve().parent.name}/{path.name}"


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
    source = source_id(path)
    if needs_codes:
        codes = {r["c"] for r in store.read("MATCH (f:FailureMode) RETURN f.code AS c")}
        return commit(store, reader(path, source, codes))
    return commit(store, reader(path, source))


def load_paths(store: GraphStore, paths: Iterable[Path], kind: str | None = None) -> list[LoadReport]:
    """Load files and folders; raises LoadError for the first refused file (earlier files stay loaded)."""
    files, _ = plan(paths, kind)
    reports = []
    vocab = ensure_vocabulary(store)
    if vocab:
        reports.append(vocab)
    for file, file_kind in files:
        reports.append(load_file(store, file, file_kind))
    return reports
