"""FMEA and FMECA sheets as plants write them (CSV or XLSX), in one reader.

Layouts, matched by header tokens (:mod:`maintgraph.graph.loaders.tabular`), not by name lists:

- maintgraph's own (the sample plant): ``System`` is the equipment tag and ``Component`` a
  component code of it, both already in the graph; failure modes are ISO 14224 codes.
- classic AIAG: Subsystem, Component, Sub-Component, Potential Failure Mode, Potential
  Effect(s) of Failure, Severity, Potential Cause(s) of Failure, Occurrence, Current Controls,
  Detection, RPN, Recommended Action(s).
- AIAG-VDA 2019: Next Higher Level / Structure Element, Focus Element, Next Lower Level
  Element, Function, Failure Effect (FE), Severity (S), Failure Mode (FM), Failure Cause
  (FC), Prevention Controls (PC), Occurrence (O), Detection Controls (DC), Detection (D),
  Action Priority (AP) instead of or beside the RPN.
- IEC 60812 / MIL-STD-1629 FMECA: Item No., Item / Functional Identification, Function,
  Failure Mode, Failure Cause, Local / Next Higher / End Effect, Detection Method,
  Compensating Provisions, Severity Class (I-IV or 1-10), Failure Mode Ratio, Failure Rate,
  Criticality.

What the plant wrote is kept verbatim on the ``FMEAEntry`` (failure mode, cause, effects,
function, controls, action); S, O, D, RPN, AP, severity class, mode ratio, failure rate and
criticality are stored when given. S/O/D must be whole numbers 1-10 (a row with one that is
not is a problem). An RPN that disagrees with S x O x D is kept as written and reported as a
warning; a missing RPN or AP is derived from S, O and D (AIAG-VDA action priority table).

**Hierarchy instead of tags.** When the sheet's ``System`` column holds equipment tags (no
spaces, a digit: "P-101"), rows hang off the existing ``Component`` ``TAG/CODE`` as before.
Otherwise the hierarchy columns present (top first: System / Next Higher Level, Subsystem /
Focus Element, Component, Sub-Component / Next Lower Level, Item) become the ISO 14224
hierarchy, filled bottom-up: the lowest column is the ``Component`` (maintainable item), the
one above the ``Subunit``, the one above that the ``Equipment`` (unit), anything above that a
``System``. With fewer than three levels the equipment is the sheet's subject (its title row,
else the file name) and a missing subunit is the equipment as a whole. A row whose lowest
cells are blank (after "same as above" filling) hangs off its parent "as a whole" (a node
keyed ``PARENT/*`` named like its parent, ``as_a_whole``). Names are the text as written; keys
are the upper-case slug of the path (``COMPRESSOR-CORE/STAGE-1-COMPRESSOR/IMPELLER``), so the
same sub-component under two parents is two nodes and reloading an unchanged file changes
nothing. Hierarchy nodes carry ``path`` (names joined by " > "), which entity linking indexes.

**Failure modes.** The text is mapped to an ISO 14224 code only when a mapper is confident
(:mod:`maintgraph.graph.loaders.mode_mapping`); the entry then has ``mode_code``,
``mode_confidence`` and ``mode_method`` and a ``FOR_MODE`` relationship carrying the same.
An unmapped mode is a normal entry with its text (``failure_mode``), never a refusal.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from maintgraph.graph.loaders.batch import GraphBatch
from maintgraph.graph.loaders.mode_mapping import LexicalModeMapper, ModeMapper, ModeMatch
from maintgraph.graph.loaders.tabular import (
    Column,
    Problems,
    Sheet,
    SheetRow,
    parse_float,
    parse_int,
    read_sheet,
    slug,
    split_list,
)
from maintgraph.graph.loaders.vocab import VOCAB_DIR

# Hierarchy columns, top level first.
HIERARCHY = ["System", "Subsystem", "Component", "Sub-Component", "Item"]

FMEA_COLUMNS = [
    Column("System", ("Subsystem/System", "Equipment", "Tag", "Equipment Tag", "Structure Element",
                      "Next Higher Level", "Next Higher Level Element", "Higher Level Element", "Assembly"),
           required=False),
    Column("Subsystem", ("Sub-system", "Focus Element", "Focus Element Structure", "Subunit",
                         "Sub-assembly"), required=False),
    Column("Component", ("Component Code", "Part", "Component Name"), required=False),
    Column("Sub-Component", ("Subcomponent", "Sub Component", "Next Lower Level", "Next Lower Level Element",
                             "Next Lower Level Element or Item", "Lower Level Element",
                             "Next Lower Level or Characteristic Type"), required=False),
    Column("Item", ("Item Functional Identification", "Functional Identification", "Item Name",
                    "Item Description", "Nomenclature", "Item Identification"), required=False),
    Column("Item No", ("Item Number", "Item Ref", "Ref No", "Identification Number", "ID No"), required=False),
    Column("Function", ("Functions", "Item Function", "Function of Item", "Function Requirement",
                        "Function of Focus Element", "Purpose"), required=False, loose=True),
    Column("Failure Mode", ("Failure Mode Code", "Mode", "Failure Modes and Causes"), loose=True),
    Column("Effect", ("Failure Effect", "Effect of Failure", "Effects"), required=False, loose=True),
    Column("Local Effect", ("Local Effects", "Local Failure Effect"), required=False),
    Column("Next Higher Effect", ("Next Higher Level Effect", "Next Level Effect", "Higher Level Effect"),
           required=False),
    Column("End Effect", ("End Effects", "End Failure Effect", "System Effect", "Final Effect"), required=False),
    Column("Severity", ("Sev", "S", "Severity Rating", "Severity Ranking"), required=False),
    Column("Severity Class", ("Severity Category", "Severity Classification", "Severity Level"), required=False),
    Column("Cause", ("Failure Cause", "Cause of Failure", "Causes", "Failure Mechanism Cause"), loose=True),
    Column("Occurrence", ("Occ", "O", "Occurrence Rating", "Occurrence Ranking"), required=False),
    Column("Current Controls", ("Controls", "Current Process Controls", "Current Design Controls"),
           required=False),
    Column("Prevention Controls", ("Prevention Control", "Prevention", "Controls Prevention"), required=False),
    Column("Detection Controls", ("Detection Control", "Controls Detection"), required=False),
    Column("Detection Method", ("Failure Detection Method", "Detection Means", "Method of Detection"),
           required=False, loose=True),
    Column("Compensating Provisions", ("Compensating Provision", "Compensating Measures"),
           required=False, loose=True),
    Column("Detection", ("Det", "D", "Detection Rating", "Detection Ranking"), required=False),
    Column("RPN", ("Risk Priority Number",), required=False),
    Column("AP", ("Action Priority",), required=False),
    Column("Failure Mode Ratio", ("Mode Ratio", "Alpha", "Failure Mode Ratio Alpha", "Failure Mode Apportionment"),
           required=False),
    Column("Failure Rate", ("Lambda", "Part Failure Rate", "Failure Rate Lambda", "Item Failure Rate"),
           required=False),
    Column("Criticality", ("Failure Mode Criticality", "Mode Criticality", "Criticality Number",
                           "Failure Mode Criticality Number", "Cm", "Item Criticality"), required=False),
    Column("Recommended Action", ("Recommended Actions", "Actions", "Action", "Actions Recommended",
                                  "Remarks"), required=False, loose=True),
    Column("Action Status", ("Status", "Action Taken Status"), required=False),
    Column("Symptoms", ("Symptom",), required=False),
    Column("Mechanism", ("Failure Mechanism",), required=False),
    Column("Detected By", ("Sensor", "Detection Instrument"), required=False),
]  # fmt: skip

# Verbatim text fields: column -> entry property.
_TEXT = {
    "Function": "function", "Effect": "effect", "Local Effect": "local_effect",
    "Next Higher Effect": "next_higher_effect", "End Effect": "end_effect", "Cause": "cause",
    "Current Controls": "current_controls", "Prevention Controls": "prevention_controls",
    "Detection Controls": "detection_controls", "Detection Method": "detection_method",
    "Compensating Provisions": "compensating_provisions", "Recommended Action": "recommended_action",
    "Item No": "item_no", "Action Status": "action_status",
}  # fmt: skip

_NUMBERS = {"Failure Mode Ratio": "failure_mode_ratio", "Failure Rate": "failure_rate", "Criticality": "criticality"}

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
    """An ISO code as written ("VIB", "vib - Vibration") or a vocabulary name/synonym that names one code."""
    from maintgraph.graph.loaders.mode_mapping import LexicalModeMapper

    match = LexicalModeMapper(known_codes).match(text)
    return match.code if match else None


_TAG = re.compile(r"^(?=.*\d)[A-Za-z0-9][A-Za-z0-9\-_/.]{0,23}$")


def _tag_layout(rows: Sheet) -> bool:
    """The sample plant's layout: ``System`` holds equipment tags and ``Component`` codes."""
    if "System" not in rows.mapping or "Component" not in rows.mapping:
        return False
    tags = [row.get("System") for row in rows if row.get("System")]
    return bool(tags) and all(_TAG.match(tag) for tag in tags)


_NOT_SUBJECT = {"fmea", "fmeca", "aiag", "vda", "classic", "iec", "60812", "mil", "std", "1629", "sheet", "export"}


def _subject(rows: Sheet, path: Path) -> str:
    """What the sheet is about, for an equipment level it does not have: its title, else its file name."""
    if rows.title:
        title = re.sub(r"^\s*(fmeca|fmea|failure modes?,? effects?( and criticality)? analysis)\b[\s:—–-]*", "",
                       rows.title, flags=re.I).strip(" :—–-")  # fmt: skip
        if title:
            return title[:80]
    words = [w for w in re.split(r"[\s_\-.]+", path.stem) if w.lower() not in _NOT_SUBJECT]
    return " ".join(words).strip().capitalize() or path.stem


def _key(*names: str) -> str:
    return "/".join(slug(name).upper() or "*" for name in names)


class _Hierarchy:
    """Asserts the hierarchy nodes of each row's path and returns the component an entry hangs off."""

    def __init__(self, batch: GraphBatch, levels: list[str], subject: str) -> None:
        self.batch, self.levels, self.subject = batch, levels, subject

    def _node(self, label: str, key: str, name: str, path: list[str], whole: bool, line: int) -> None:
        props: dict[str, Any] = {"name": name, "path": " > ".join(path)}
        if whole:
            props["as_a_whole"] = True
        self.batch.node(label, key, props, (line, None))

    def component(self, row: SheetRow) -> tuple[str, str]:
        """(equipment tag, component id) of the row's path, asserting its nodes."""
        values = [row.get(level) for level in self.levels]
        n = len(values)
        system = [v for v in values[: max(n - 3, 0)] if v]
        slots: list[str | None] = values[max(n - 3, 0) :]
        if n < 3:
            slots = [self.subject, *([None] * (2 - n)), *values] if n else [self.subject, None, None]
        equipment, subunit, component = (s or None for s in slots)
        line = row.line
        if equipment is None:  # the top level blank: the rows' subject
            equipment = self.subject
        prefix = [" / ".join(system)] if system else []
        tag = _key(*prefix, equipment)
        path = [*prefix, equipment]
        if system:
            system_id = _key(*prefix)
            self._node("System", system_id, prefix[0], prefix, False, line)
            self.batch.rel("HAS_EQUIPMENT", ("System", system_id), ("Equipment", tag), where=(line, None))
        self._node("Equipment", tag, equipment, path, False, line)
        if subunit:
            path = [*path, subunit]
            subunit_id = f"{tag}/{_key(subunit)}"
            self._node("Subunit", subunit_id, subunit, path, False, line)
        else:
            subunit_id = f"{tag}/*"
            self._node("Subunit", subunit_id, equipment, path, True, line)
        self.batch.rel("HAS_SUBUNIT", ("Equipment", tag), ("Subunit", subunit_id), where=(line, None))
        if component:
            path = [*path, component]
            component_id = f"{subunit_id}/{_key(component)}"
            self._node("Component", component_id, component, path, False, line)
        else:
            component_id = f"{subunit_id}/*"
            self._node("Component", component_id, path[-1], path, True, line)
        self.batch.rel("HAS_COMPONENT", ("Subunit", subunit_id), ("Component", component_id), where=(line, None))
        return tag, component_id


def _ratings(row: SheetRow, problems: Problems, columns: Mapping[str, str]) -> dict[str, Any] | None:
    """S/O/D, RPN and AP of a row (None: a problem, already reported)."""
    values: dict[str, Any] = {}
    bad = False
    for column, prop, high in (("Severity", "severity", 10), ("Occurrence", "occurrence", 10),
                               ("Detection", "detection", 10), ("RPN", "rpn", 1000)):  # fmt: skip
        if column in columns and row.get(column):
            value = parse_int(row, column, problems, 1, high)
            bad = bad or value is None
            values[prop] = value
    if bad:
        return None
    s, o, d = values.get("severity"), values.get("occurrence"), values.get("detection")
    if None not in (s, o, d):
        rpn = values.get("rpn")
        if rpn is None:
            values["rpn"] = s * o * d
        elif rpn != s * o * d:
            problems.warn(row.line, "RPN", f"{rpn} does not equal Severity x Occurrence x Detection = {s * o * d} "
                          "(kept as written)")  # fmt: skip
        derived = action_priority(s, o, d)
        written = row.get("AP").upper()[:1] if "AP" in columns else ""
        if written and written not in "HML":
            problems.warn(row.line, "AP", f"{row.get('AP')!r} is not an action priority (H, M, L); kept as written")
        values["action_priority"] = row.get("AP") if written else derived
    elif "AP" in columns and row.get("AP"):
        values["action_priority"] = row.get("AP")
    return values


def read_fmea(
    path: Path,
    source: str,
    known_codes: set[str],
    mapping: Mapping[str, str] | None = None,
    mode_mapper: ModeMapper | None = None,
) -> GraphBatch:
    """An FMEA sheet as a batch. ``mapping``: canonical column -> header as written (overrides
    matching); ``mode_mapper``: free-text failure mode -> ISO code (default: the vocabulary's words)."""
    problems = Problems(source)
    batch = GraphBatch(source, problems)
    mechanisms = mechanism_ids()
    rows = read_sheet(path, FMEA_COLUMNS, problems, mapping, fill_down=HIERARCHY)
    batch.mapping, batch.header_row = dict(rows.mapping), rows.header_row
    columns = rows.mapping
    tagged = _tag_layout(rows)
    levels = [level for level in HIERARCHY if level in columns]
    if not tagged and not levels and "Item No" in columns:
        levels = ["Item No"]
    hierarchy = _Hierarchy(batch, levels, _subject(rows, path))
    mapper = mode_mapper or LexicalModeMapper(known_codes)
    modes = mapper.map(sorted({row.get("Failure Mode") for row in rows if row.get("Failure Mode")}))
    entries: dict[str, int] = {}
    for row in rows:
        line = row.line
        batch.row = line
        mode_text, cause = row.get("Failure Mode"), row.get("Cause")
        if not mode_text:
            problems.add(line, "Failure Mode", "is empty")
            continue
        if tagged:
            tag, code = row.get("System").upper(), row.get("Component").upper()
            if not tag or not code:
                problems.add(line, "System/Component", "equipment tag and component code must be given")
                continue
            component = f"{tag}/{code}"
        before = len(problems.items)
        ratings = _ratings(row, problems, columns)
        numbers = {prop: parse_float(row, column, problems) for column, prop in _NUMBERS.items() if column in columns}
        if ratings is None or len(problems.items) > before:
            continue
        if tagged:
            equipment = tag
        else:
            equipment, component = hierarchy.component(row)
        match: ModeMatch | None = modes.get(mode_text)
        as_code = match is not None and match.method == "code"
        entry = f"{component}/{match.code if as_code else slug(mode_text)[:40]}/{slug(cause)[:48]}"
        props: dict[str, Any] = {**ratings, "equipment": equipment, "component": component}
        if tagged:
            props["sub_component"] = row.get("Sub-Component")
            texts = {c: p for c, p in _TEXT.items() if c not in ("Effect", "Cause")}
        else:
            texts = _TEXT
        props |= {prop: row.get(column) for column, prop in texts.items() if column in columns}
        if not as_code:
            props["failure_mode"] = mode_text
        props |= numbers
        if "Severity Class" in columns:
            props["severity_class"] = row.get("Severity Class")
        if match is not None:
            props |= {"mode": match.code, "mode_code": match.code, "mode_confidence": match.confidence,
                      "mode_method": match.method}  # fmt: skip
            if as_code:
                props = {k: v for k, v in props.items() if k not in ("mode_code", "mode_confidence", "mode_method")}
        n = entries.get(entry, 0) + 1
        entries[entry] = n
        if n > 1:  # the same mode and cause listed again (another effect): its own entry
            entry = f"{entry}~{n}"
        batch.node("FMEAEntry", entry, props, (line, "Failure Mode"))
        batch.rel("HAS_FMEA", ("Component", component), ("FMEAEntry", entry), where=(line, "Component"))
        if match is not None:
            batch.rel("CAN_FAIL_BY", ("Component", component), ("FailureMode", match.code),
                      where=(line, "Failure Mode"))  # fmt: skip
            rel_props = None if as_code else {"confidence": match.confidence, "method": match.method}
            batch.rel("FOR_MODE", ("FMEAEntry", entry), ("FailureMode", match.code), rel_props,
                      where=(line, "Failure Mode"))  # fmt: skip
        if cause:
            batch.node("Cause", slug(cause), {"name": cause}, (line, "Cause"))
            batch.rel("CAUSED_BY", ("FMEAEntry", entry), ("Cause", slug(cause)))
        effect = row.get("Effect") or row.get("End Effect") or row.get("Local Effect")
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
