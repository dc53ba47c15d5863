"""The controlled vocabulary: ISO 14224 equipment classes, failure modes and mechanisms.

The CSVs in ``maintgraph/graph/vocab/`` come from the nlp-tlp 14224ontologies project (MIT,
licence beside them); ``failure_mode_synonyms.yaml`` is maintgraph's own list of the words
technicians use for each failure mode.
"""

from __future__ import annotations

import csv
from functools import cache
from importlib.resources import files
from pathlib import Path

import yaml

from maintgraph.graph.base import GraphStore
from maintgraph.graph.loaders.batch import GraphBatch, LoadReport, commit
from maintgraph.graph.loaders.tabular import Problems

VOCAB_DIR = Path(str(files("maintgraph.graph") / "vocab"))
SOURCE = "vocab/iso14224"


def _rows(name: str) -> list[dict[str, str]]:
    with (VOCAB_DIR / name).open(newline="", encoding="utf-8-sig") as handle:
        return [{k.strip(): (v or "").strip() for k, v in row.items() if k} for row in csv.DictReader(handle)]


@cache
def failure_mode_synonyms() -> dict[str, list[str]]:
    return yaml.safe_load((VOCAB_DIR / "failure_mode_synonyms.yaml").read_text())


def equipment_classes() -> dict[str, str]:
    """ISO 14224 class code -> class name."""
    return {r["ISO14224_Equipment_Class_Code"]: r["ISO14224_Equipment_Class"] for r in _rows(
        "iso14224_equipmentClass_equipmentClassCode.csv")}  # fmt: skip


def allowed_modes() -> dict[str, set[str]]:
    """Equipment class code -> the failure-mode codes ISO 14224 lists for it."""
    allowed: dict[str, set[str]] = {}
    with (VOCAB_DIR / "ISO14224_failureModeCode_equipClassCode_matrix.csv").open(newline="") as handle:
        header, *rows = list(csv.reader(handle))
    for mode, *flags in rows:  # first column: the failure-mode code; then one column per class
        for class_code, flag in zip(header[1:], flags, strict=False):
            if flag.strip() == "1":
                allowed.setdefault(class_code.strip(), set()).add(mode.strip())
    return allowed


def build_batch() -> GraphBatch:
    batch = GraphBatch(SOURCE, Problems(SOURCE))
    for code, name in equipment_classes().items():
        batch.node("EquipmentClass", code, {"name": name})
    synonyms = failure_mode_synonyms()
    for row in _rows("iso14224_failureModeCode.csv"):
        code = row["ISO14224_FailureModeCode"]
        if code in batch.nodes["FailureMode"]:
            continue  # the source lists a few codes twice; the first description stands
        batch.node(
            "FailureMode",
            code,
            {"name": row["ISO14224_FailureMode"], "description": row["ISO14224_FailureMode_Description"],
             "synonyms": synonyms.get(code, []), "scheme": "ISO 14224"},
        )  # fmt: skip
    for class_code, modes in allowed_modes().items():
        for mode in sorted(modes):
            if mode in batch.nodes["FailureMode"] and class_code in batch.nodes["EquipmentClass"]:
                batch.rel("APPLIES_TO", ("FailureMode", mode), ("EquipmentClass", class_code))
    for row in _rows("iso14224_class_failuremechanism.csv"):
        batch.node(
            "FailureMechanism",
            row["class"],
            {"name": row["label"], "description": row["description"], "category": row["superclass"],
             "synonyms": [s.strip() for s in row["synonyms"].split(",") if s.strip()]},
        )  # fmt: skip
    return batch


def load_vocabulary(store: GraphStore) -> LoadReport:
    return commit(store, build_batch())
