"""CMMS work orders: the plant's own history, and two real exports.

* the plant format (``work_orders.csv``): strict, every row must be valid or nothing loads;
* AssetOpsBench (IBM's chiller fleet: ``failure_codes.csv`` and
  ``all_wo_with_code_component_events.csv``) and MaintKG (``case_study_pdl.csv``, excavator
  work orders in shorthand): real exports are messy, so a row that cannot be imported is
  skipped and reported with its reason while the rest loads (missing columns still refuse).

Work orders link to their equipment and, where the export codes a failure or the text names
one unambiguously ("LKG", "RUNNING HOT"), to a failure mode.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from maintgraph.graph.loaders.batch import GraphBatch
from maintgraph.graph.loaders.mapping import SheetMapping, formats, read_mapped
from maintgraph.graph.loaders.tabular import (
    Column,
    Problems,
    parse_datetime,
    parse_float,
    parse_int,
    read_sheet,
    slug,
)
from maintgraph.graph.loaders.vocab import failure_mode_synonyms

WO_TYPES = {"CM", "PM", "EM", "PDM", "CAL", "INSP"}
STATUSES = {"WAPPR", "APPR", "WMATL", "WSCH", "INPRG", "COMP", "CLOSE", "CAN"}
# How exports other than Maximo's write them (read through a mapping); keys are normalised words.
STATUS_WORDS = {
    "closed": "CLOSE", "close": "CLOSE", "complete": "COMP", "completed": "COMP", "done": "COMP", "finished": "COMP",
    "open": "APPR", "approved": "APPR", "new": "WAPPR", "raised": "WAPPR", "requested": "WAPPR",
    "awaitingapproval": "WAPPR", "waitingapproval": "WAPPR", "pending": "WAPPR", "inprogress": "INPRG",
    "started": "INPRG", "active": "INPRG", "ongoing": "INPRG", "scheduled": "WSCH", "planned": "WSCH",
    "waitingparts": "WMATL", "awaitingparts": "WMATL", "waitingmaterial": "WMATL", "onhold": "WMATL",
    "cancelled": "CAN", "canceled": "CAN", "cancel": "CAN",
}  # fmt: skip
TYPE_WORDS = {
    "corrective": "CM", "breakdown": "CM", "repair": "CM", "reactive": "CM", "preventive": "PM",
    "preventative": "PM", "planned": "PM", "service": "PM", "emergency": "EM", "predictive": "PDM",
    "conditionbased": "PDM", "calibration": "CAL", "inspection": "INSP",
}  # fmt: skip
PRIORITY_WORDS = {"emergency": 1, "urgent": 1, "critical": 1, "high": 2, "medium": 3, "normal": 3, "routine": 4,
                  "low": 4, "lowest": 5}  # fmt: skip


def _word(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


def _status(text: str) -> str:
    upper = text.strip().upper()
    return upper if upper in STATUSES else STATUS_WORDS.get(_word(text), upper)


def _wo_type(text: str) -> str:
    upper = text.strip().upper()
    return upper if upper in WO_TYPES else TYPE_WORDS.get(_word(text), upper)


def _priority(row, problems: Problems) -> int | None:
    text = row.get("priority")
    if not text:
        return None
    if _word(text) in PRIORITY_WORDS and not any(ch.isdigit() for ch in text):
        return PRIORITY_WORDS[_word(text)]
    digits = re.fullmatch(r"\s*[Pp]?(\d)\s*(?:-.*)?", text)
    if digits and digits[1] != text.strip():
        return int(digits[1]) if 1 <= int(digits[1]) <= 5 else parse_int(row, "priority", problems, 1, 5)
    return parse_int(row, "priority", problems, 1, 5)


PLANT_COLUMNS = [
    Column("number", ("wo number", "wonum", "work order", "wo")),
    Column("tag", ("equipment tag", "asset", "assetnum", "equipment")),
    Column("wo_type", ("type", "work type", "worktype")),
    Column("status"),
    Column("priority", ("wopriority",), required=False),
    Column("reported_at", ("reported", "reportdate", "reported date")),
    Column("finished_at", ("finished", "actfinish", "actual finish"), required=False),
    Column("description", ("short text", "wo description")),
    Column("long_text", ("long description", "details"), required=False),
    Column("failure_code", ("problem code", "failure mode"), required=False),
    Column("component", ("component code",), required=False),
    Column("labor_hours", ("labour hours", "actlabhrs", "hours"), required=False),
    Column("parts_used", ("parts", "materials"), required=False),
]
AOB_CODE_COLUMNS = [
    Column("category"),
    Column("primary_code"),
    Column("primary_code_description"),
    Column("secondary_code"),
    Column("secondary_code_description"),
]
AOB_WO_COLUMNS = [
    Column("wo_id"),
    Column("wo_description"),
    Column("collection"),
    Column("primary_code"),
    Column("secondary_code", required=False),
    Column("equipment_id"),
    Column("equipment_name"),
    Column("preventive"),
    Column("work_priority", required=False),
    Column("actual_finish"),
    Column("actual_labor_hours", required=False),
]
MAINTKG_COLUMNS = [
    Column("id"),
    Column("BscStartDate"),
    Column("Asset"),
    Column("OriginalShorttext"),
    Column("PMType"),
    Column("MajorSystem", required=False),
    Column("FM", required=False),
    Column("Cost", required=False),
]


@cache
def _synonym_patterns() -> list[tuple[str, re.Pattern[str]]]:
    return [
        (code, re.compile(rf"(?<![a-z0-9]){re.escape(word.lower())}(?![a-z0-9])"))
        for code, words in failure_mode_synonyms().items()
        for word in words
    ]


def recognise_failure_mode(text: str) -> str | None:
    """The one ISO failure mode a work-order text names, or None if it names none or several."""
    lowered = text.lower()
    found = {code for code, pattern in _synonym_patterns() if pattern.search(lowered)}
    return found.pop() if len(found) == 1 else None


def _hours(text: str) -> float | None:
    """``1.5`` or ``1:30`` -> 1.5."""
    if not text:
        return None
    if ":" in text:
        hours, minutes = text.split(":", 1)
        return int(hours) + int(minutes) / 60
    return float(text)


def read_plant_work_orders(
    path: Path, source: str, known_codes: set[str], mapping: SheetMapping | None = None
) -> GraphBatch:
    """The plant's work orders, or any work-order export through a column mapping (its own
    headers, dates as its ``date_format`` says, statuses and types in words such as Closed or
    Preventive, priorities such as High or P2)."""
    problems = Problems(source)
    batch = GraphBatch(source, problems)
    formats_ = formats(mapping, ("%Y-%m-%d %H:%M", "%Y-%m-%d"))
    written = mapping.date_format if mapping and mapping.date_format else "YYYY-MM-DD[ HH:MM]"
    rows = read_mapped(path, PLANT_COLUMNS, problems, mapping)
    batch.mapping = dict(getattr(rows, "mapping", {}))
    for row in rows:
        batch.row = row.line
        line, number, tag = row.line, row.get("number").upper(), row.get("tag").upper()
        if not number or not tag:
            problems.add(line, "number/tag", "work-order number and equipment tag must be given")
            continue
        wo_type, status = _wo_type(row.get("wo_type")), _status(row.get("status"))
        if wo_type not in WO_TYPES:
            problems.add(line, "wo_type", f"{wo_type!r} is not one of {', '.join(sorted(WO_TYPES))}")
        if status not in STATUSES:
            problems.add(line, "status", f"{status!r} is not one of {', '.join(sorted(STATUSES))}")
        reported = parse_datetime(row.get("reported_at"), formats_)
        if reported is None:
            problems.add(line, "reported_at", f"{row.get('reported_at')!r} is not {written}")
        finished = parse_datetime(row.get("finished_at"), formats_) if row.get("finished_at") else None
        if row.get("finished_at") and finished is None:
            problems.add(line, "finished_at", f"{row.get('finished_at')!r} is not {written}")
        if reported and finished and finished < reported:
            problems.add(line, "finished_at", f"finished {finished} before it was reported {reported}")
        priority = _priority(row, problems)
        code = row.get("failure_code").upper()
        if code and code not in known_codes:
            problems.add(line, "failure_code", f"{code!r} is not a known failure-mode code")
        inferred = False
        if not code and wo_type in {"CM", "EM"}:
            code, inferred = recognise_failure_mode(row.get("description")) or "", True
        batch.node(
            "WorkOrder", number,
            {"description": row.get("description"), "long_text": row.get("long_text"), "wo_type": wo_type,
             "status": status, "priority": priority, "reported_at": reported, "finished_at": finished,
             "labor_hours": parse_float(row, "labor_hours", problems), "equipment": tag,
             "failure_code": code or None, "failure_code_inferred": inferred if code else None},
            (line, "number"),
        )  # fmt: skip
        batch.rel("RECORDED_FOR", ("WorkOrder", number), ("Equipment", tag), where=(line, "tag"))
        if code and code in known_codes:
            batch.rel("RECORDED_FOR", ("WorkOrder", number), ("FailureMode", code), where=(line, "failure_code"))
        component = row.get("component").upper()
        if component:
            batch.rel("RECORDED_FOR", ("WorkOrder", number), ("Component", f"{tag}/{component}"),
                      where=(line, "component"))  # fmt: skip
        for used in filter(None, (p.strip() for p in row.get("parts_used").split(";"))):
            part, _, quantity = used.partition(":")
            if not quantity.strip().isdigit():
                problems.add(line, "parts_used", f"{used!r} is not PART:QUANTITY")
                continue
            batch.rel("REQUIRES_PART", ("WorkOrder", number), ("SparePart", part.strip().upper()),
                      {"quantity": int(quantity)}, where=(line, "parts_used"))  # fmt: skip
    return batch


def read_assetopsbench_codes(path: Path, source: str) -> GraphBatch:
    problems = Problems(source)
    batch = GraphBatch(source, problems)
    for row in read_sheet(path, AOB_CODE_COLUMNS, problems):
        batch.row = row.line
        primary, secondary = row.get("primary_code"), row.get("secondary_code")
        common = {"category": row.get("category"), "scheme": "AssetOpsBench"}
        earlier = batch.nodes["FailureMode"].get(primary)
        if earlier and earlier["name"] != row.get("primary_code_description"):
            # The export reuses a code for a second meaning: the first stands, the row is reported.
            batch.skipped.append(f"{source}:{row.line}: primary_code {primary} already means {earlier['name']!r}, "
                                 f"not {row.get('primary_code_description')!r}")  # fmt: skip
        else:
            batch.node("FailureMode", primary, {"name": row.get("primary_code_description")} | common)
        if secondary:
            batch.node("FailureMode", secondary,
                       {"name": row.get("secondary_code_description"), "primary_code": primary} | common,
                       (row.line, "secondary_code"))  # fmt: skip
    return batch


def read_assetopsbench_work_orders(path: Path, source: str, known_codes: set[str]) -> GraphBatch:
    problems = Problems(source)
    batch = GraphBatch(source, problems)
    for row in read_sheet(path, AOB_WO_COLUMNS, problems):
        batch.row = row.line
        number, equipment = row.get("wo_id"), row.get("equipment_id")
        finished = parse_datetime(row.get("actual_finish"), ("%m/%d/%y %H:%M", "%m/%d/%Y %H:%M", "%m/%d/%y"))
        if not number or not equipment or finished is None:
            batch.skipped.append(f"{source}:{row.line}: missing id/equipment or unreadable actual_finish "
                                 f"{row.get('actual_finish')!r}")  # fmt: skip
            continue
        try:
            labor = _hours(row.get("actual_labor_hours"))
        except ValueError:
            labor = None
        code = next((c for c in (row.get("secondary_code"), row.get("primary_code")) if c in known_codes), None)
        if row.get("secondary_code") and code != row.get("secondary_code"):
            batch.skipped.append(f"{source}:{row.line}: failure code {row.get('secondary_code')!r} is not in the "
                                 f"code list; linked to {code or 'no failure mode'}")  # fmt: skip
        collection = row.get("collection") or "general"
        subunit, component = f"{equipment}/{slug(collection)}", f"{equipment}/{slug(collection).upper()}"
        batch.node("Equipment", equipment, {"name": row.get("equipment_name")}, (row.line, "equipment_id"))
        batch.node("Subunit", subunit, {"name": collection, "equipment": equipment})
        batch.node("Component", component, {"name": collection, "equipment": equipment})
        batch.rel("HAS_SUBUNIT", ("Equipment", equipment), ("Subunit", subunit))
        batch.rel("HAS_COMPONENT", ("Subunit", subunit), ("Component", component))
        preventive = row.get("preventive").upper() == "TRUE"
        batch.node(
            "WorkOrder", number,
            {"description": row.get("wo_description"), "wo_type": "PM" if preventive else "CM", "status": "CLOSE",
             "priority": int(row.get("work_priority")) if row.get("work_priority").isdigit() else None,
             "finished_at": finished, "labor_hours": labor, "failure_code": code or None, "equipment": equipment},
            (row.line, "wo_id"),
        )  # fmt: skip
        batch.rel("RECORDED_FOR", ("WorkOrder", number), ("Equipment", equipment))
        batch.rel("RECORDED_FOR", ("WorkOrder", number), ("Component", component))
        if code:
            batch.rel("RECORDED_FOR", ("WorkOrder", number), ("FailureMode", code), where=(row.line, "secondary_code"))
    return batch


def read_maintkg(path: Path, source: str) -> GraphBatch:
    problems = Problems(source)
    batch = GraphBatch(source, problems)
    for row in read_sheet(path, MAINTKG_COLUMNS, problems):
        batch.row = row.line
        asset, started = row.get("Asset"), parse_datetime(row.get("BscStartDate"), ("%Y-%m-%d",))
        text = row.get("OriginalShorttext")
        if not asset or started is None or not text:
            batch.skipped.append(f"{source}:{row.line}: missing asset, date or text")
            continue
        tag, number = f"PDL-{asset}", f"PDL-{row.get('id')}"
        batch.node("Equipment", tag, {"name": f"Excavator {asset}", "fleet": "MaintKG PDL"}, (row.line, "Asset"))
        code = recognise_failure_mode(row.get("FM")) if row.get("FM") else recognise_failure_mode(text)
        cost = parse_float(row, "Cost", batch.problems) if row.get("Cost") else None
        batch.node(
            "WorkOrder", number,
            {"description": text, "wo_type": row.get("PMType"), "status": "CLOSE", "reported_at": started,
             "cost": cost, "failure_term": row.get("FM") or None, "failure_code": code, "equipment": tag},
            (row.line, "id"),
        )  # fmt: skip
        batch.rel("RECORDED_FOR", ("WorkOrder", number), ("Equipment", tag))
        system = row.get("MajorSystem")
        if system:
            subunit, component = f"{tag}/{slug(system)}", f"{tag}/{slug(system).upper()}"
            batch.node("Subunit", subunit, {"name": system.replace("_", " "), "equipment": tag})
            batch.node("Component", component, {"name": system.replace("_", " "), "equipment": tag})
            batch.rel("HAS_SUBUNIT", ("Equipment", tag), ("Subunit", subunit))
            batch.rel("HAS_COMPONENT", ("Subunit", subunit), ("Component", component))
            batch.rel("RECORDED_FOR", ("WorkOrder", number), ("Component", component))
        if code:
            batch.rel("RECORDED_FOR", ("WorkOrder", number), ("FailureMode", code))
    # A malformed cost is not worth losing the row for: report it, keep the row.
    batch.skipped.extend(batch.problems.items)
    batch.problems.items.clear()
    return batch
