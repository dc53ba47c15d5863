"""FMEA sheets in the standard columns (CSV or XLSX).

System, Component, Sub-Component, Failure Mode, Effect, Severity, Cause, Occurrence, Current
Controls, Detection, RPN, Recommended Action; optionally Symptoms, Mechanism and Detected By.
``System`` is the equipment tag and ``Component`` a component code of it. S, O and D must be
whole numbers 1-10; the RPN is recomputed and must equal S x O x D; the AIAG-VDA action
priority (H/M/L) is derived from S, O and D.
"""

from __future__ import annotations

import csv
from pathlib import Path

from maintgraph.graph.loaders.batch import GraphBatch
from maintgraph.graph.loaders.tabular import Column, Problems, parse_int, read_sheet, slug, split_list
from maintgraph.graph.loaders.vocab import VOCAB_DIR, failure_mode_synonyms

FMEA_COLUMNS = [
    Column("System", ("Subsystem/System", "Subsystem", "Equipment", "Tag", "Item")),
    Column("Component", ("Component Code", "Part")),
    Column("Sub-Component", ("Subcomponent", "Sub Component"), required=False),
    Column("Failure Mode", ("Potential Failure Mode", "Failure Mode Code", "Mode")),
    Column("Effect", ("Effects", "Potential Effect", "Potential Effects of Failure", "Failure Effect")),
    Column("Severity", ("Sev", "S")),
    Column("Cause", ("Causes", "Potential Cause", "Potential Causes", "Failure Cause")),
    Column("Occurrence", ("Occ", "O")),
    Column("Current Controls", ("Controls", "Current Process Controls", "Current Design Controls")),
    Column("Detection", ("Det", "D")),
    Column("RPN", ("Risk Priority Number",)),
    Column("Recommended Action", ("Recommended Actions", "Actions", "Action")),
    Column("Symptoms", ("Symptom",), required=False),
    Column("Mechanism", ("Failure Mechanism",), required=False),
    Column("Detected By", ("Sensor", "Detection Instrument"), required=False),
]

# AIAG-VDA FMEA handbook (2019) action priority. Rows: severity band, occurrence band;
# columns: detection bands 7-10, 5-6, 2-4, 1.
_AP_TABLE: dict[tuple[str, str], str] = {
    ("9-10", "8-10"): "HHHH", ("9-10", "6-7"): "HHHH", ("9-10", "4-5"): "HHHM", ("9-10", "2-3"): "HMLL",
    ("9-10", "1"): "LLLL",
    ("7-8", "8-10"): "HHHH", ("7-8", "6-7"): "HHHM", ("7-8", "4-5"): "HMMM", ("7-8", "2-3"): "MMLL",
    ("7-8", "1"): "LLLL",
    ("4-6", "8-10"): "HHMM", ("4-6", "6-7"): "MMML", ("4-6", "4-5"): "MLLL", ("4-6", "2-3"): "LLLL",
    ("4-6", "1"): "LLLL",
    ("2-3", "8-10"): "MMLL", ("2-3", "6-7"): "LLLL", ("2-3", "4-5"): "LLLL", ("2-3", "2-3"): "LLLL",
    ("2-3", "1"): "LLLL",
}  # fmt: skip


def _band(value: int, bands: list[tuple[int, int, str]]) -> str:
    return next(name for low, high, name in bands if low <= value <= high)


def action_priority(severity: int, occurrence: int, detection: int) -> str:
    """AIAG-VDA action priority: ``H``, ``M`` or ``L`` (severity 1 is always ``L``)."""
    if severity == 1:
        return "L"
    s = _band(severity, [(2, 3, "2-3"), (4, 6, "4-6"), (7, 8, "7-8"), (9, 10, "9-10")])
    o = _band(occurrence, [(1, 1, "1"), (2, 3, "2-3"), (4, 5, "4-5"), (6, 7, "6-7"), (8, 10, "8-10")])
    d = 0 if detection >= 7 else 1 if detection >= 5 else 2 if detection >= 2 else 3
    return _AP_TABLE[(s, o)][d]


def mechanism_ids() -> dict[str, str]:
    """Failure-mechanism label (case-insensitive) -> its vocabulary id."""
    with (VOCAB_DIR / "iso14224_class_failuremechanism.csv").open(newline="", encoding="utf-8-sig") as handle:
        return {row["label"].strip().lower(): row["class"].strip() for row in csv.DictReader(handle)}


def resolve_failure_mode(text: str, known_codes: set[str]) -> str | None:
    """An ISO code as written ("VIB", "vib - Vibration") or a name/synonym that names one code only."""
    head = text.strip().split()[0].strip("-:").upper() if text.strip() else ""
    if head in known_codes:
        return head
    wanted = text.strip().lower()
    matches = {code for code, words in failure_mode_synonyms().items() if wanted in (w.lower() for w in words)}
    return matches.pop() if len(matches) == 1 else None


def read_fmea(path: Path, source: str, known_codes: set[str]) -> GraphBatch:
    problems = Problems(source)
    batch = GraphBatch(source, problems)
    mechanisms = mechanism_ids()
    for row in read_sheet(path, FMEA_COLUMNS, problems):
        line = row.line
        tag, code = row.get("System").upper(), row.get("Component").upper()
        if not tag or not code:
            problems.add(line, "System/Component", "equipment tag and component code must be given")
            continue
        mode = resolve_failure_mode(row.get("Failure Mode"), known_codes)
        if mode is None:
            problems.add(line, "Failure Mode", f"{row.get('Failure Mode')!r} is not an ISO 14224 failure mode")
        s = parse_int(row, "Severity", problems, 1, 10)
        o = parse_int(row, "Occurrence", problems, 1, 10)
        d = parse_int(row, "Detection", problems, 1, 10)
        rpn = parse_int(row, "RPN", problems, 1, 1000)
        if None not in (s, o, d, rpn) and rpn != s * o * d:
            problems.add(line, "RPN", f"{rpn} does not equal Severity x Occurrence x Detection = {s * o * d}")
        cause, effect = row.get("Cause"), row.get("Effect")
        if not cause:
            problems.add(line, "Cause", "is empty")
        if mode is None or None in (s, o, d, rpn) or not cause:
            continue
        component = f"{tag}/{code}"
        entry = f"{component}/{mode}/{slug(cause)[:48]}"
        batch.node(
            "FMEAEntry", entry,
            {"severity": s, "occurrence": o, "detection": d, "rpn": rpn, "action_priority": action_priority(s, o, d),
             "current_controls": row.get("Current Controls"), "recommended_action": row.get("Recommended Action"),
             "sub_component": row.get("Sub-Component"), "equipment": tag, "component": component, "mode": mode},
            (line, "Failure Mode"),
        )  # fmt: skip
        batch.rel("HAS_FMEA", ("Component", component), ("FMEAEntry", entry), where=(line, "Component"))
        batch.rel("CAN_FAIL_BY", ("Component", component), ("FailureMode", mode), where=(line, "Failure Mode"))
        batch.rel("FOR_MODE", ("FMEAEntry", entry), ("FailureMode", mode), where=(line, "Failure Mode"))
        batch.node("Cause", slug(cause), {"name": cause}, (line, "Cause"))
        batch.rel("CAUSED_BY", ("FMEAEntry", entry), ("Cause", slug(cause)))
        if effect:
            batch.node("Effect", slug(effect), {"name": effect}, (line, "Effect"))
            batch.rel("HAS_EFFECT", ("FMEAEntry", entry), ("Effect", slug(effect)))
        for symptom in split_list(row.get("Symptoms")):
            batch.node("Symptom", slug(symptom), {"name": symptom.lower()}, (line, "Symptoms"))
            batch.rel("MANIFESTS_AS", ("FMEAEntry", entry), ("Symptom", slug(symptom)))
        mechanism = row.get("Mechanism")
        if mechanism:
            mechanism_id = mechanisms.get(mechanism.lower())
            if mechanism_id is None:
                problems.add(line, "Mechanism", f"{mechanism!r} is not an ISO 14224 failure mechanism")
            else:
                batch.rel("HAS_MECHANISM", ("FMEAEntry", entry), ("FailureMechanism", mechanism_id),
                          where=(line, "Mechanism"))  # fmt: skip
        sensor = row.get("Detected By").upper()
        if sensor:
            batch.rel("DETECTED_BY", ("FMEAEntry", entry), ("Sensor", sensor), where=(line, "Detected By"))
    return batch
