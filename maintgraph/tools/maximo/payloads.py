"""Maximo's JSON (lean) to and from the CMMS types: the ``oslc.select`` lists, ``oslc.where``
clauses, and the records and values Maximo sends.

* Assets: ``classstructure.classificationid`` (the 1:1 CLASSSTRUCTURE relation) gives the class code;
  Maximo has no A/B/C criticality, so the asset ``priority`` is read as 1 = A, 2 = B, 3+ = C.
* Work orders: cause and remedy come from the ``failurereport`` child, parts used from the
  ``matusetrans`` child (issues are negative quantities). Status is read from ``status_maxvalue``
  when Maximo sends it (site synonyms map to the internal value); WPCOND is read as WSCH and
  HISTEDIT as CLOSE. Work types outside CM/PM/EM/PDM/CAL/INSP are read as CM (logged).
* PM plans: ``nextdate`` is Maximo's own next due date; the interval is ``frequency``/``frequnit``
  in days (months = 30, years = 365 days); the first ``pmmeter`` row gives the meter, its interval
  and ``lastpmwogenread``.

Dates in filters are ISO 8601: a naive datetime is sent as-is (Maximo reads it in its server's
time zone), an aware one with its offset.
"""

from __future__ import annotations

import base64
import hashlib
import html
import logging
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from maintgraph.errors import CMMSError
from maintgraph.tools.cmms import TRANSITIONS, Asset, PMPlan, WorkOrder, WorkOrderStatus, WorkOrderType

log = logging.getLogger(__name__)

DESCRIPTION_MAX = 100  # WORKORDER.DESCRIPTION and WORKLOG.DESCRIPTION, as Maximo ships them

WO_SELECT = (
    "wonum,siteid,assetnum,location,worktype,wopriority,status,description,description_longdescription,"
    "failurecode,problemcode,reportdate,schedstart,actstart,actfinish,actlabhrs,failurereport{failurecode,type}"
)
WO_DETAIL_SELECT = WO_SELECT + ",matusetrans{itemnum,quantity}"
# Where a submitted work order keeps its approval: WORKORDER.EXTERNALREFID, the integration framework's
# external reference (ALN 10 as Maximo ships it, kept and queryable), holds a key of the reference.
APPROVAL_FIELD = "externalrefid"
APPROVAL_KEY_LENGTH = 10
APPROVAL_SELECT = WO_DETAIL_SELECT + "," + APPROVAL_FIELD
ASSET_SELECT = "assetnum,siteid,description,location,status,priority,classstructure.classificationid"
ITEM_SELECT = "itemnum,description,rel.altitem{altitemnum}"
INVENTORY_SELECT = "itemnum,location,siteid,binnum,curbaltotal,avblbalance"
RESERVATION_SELECT = "requestnum,itemnum,location,wonum,siteid,reservedqty,restype"
PM_SELECT = (
    "pmnum,siteid,assetnum,description,status,frequency,frequnit,laststartdate,lastcompdate,nextdate,"
    "pmmeter{metername,frequency,lastpmwogenread}"
)

_TYPES_FROM_MAXIMO: dict[str, WorkOrderType] = {
    "CM": "CM",
    "PM": "PM",
    "EM": "EM",
    "PDM": "PdM",
    "CAL": "CAL",
    "INSP": "INSP",
}
TYPES_TO_MAXIMO = {ours: theirs for theirs, ours in _TYPES_FROM_MAXIMO.items()}
_STATUS_ALIASES = {"WPCOND": "WSCH", "HISTEDIT": "CLOSE"}  # Maximo internal statuses maintgraph has no name for
_FREQ_DAYS = {"DAYS": 1, "WEEKS": 7, "MONTHS": 30, "YEARS": 365}
FAILURE_KINDS = {"PROBLEM": "problem", "CAUSE": "cause", "REMEDY": "remedy"}
CLOSED = ("COMP", "CLOSE", "CAN")


# -- oslc.where ------------------------------------------------------------------------------------


def quote(value: object, what: str) -> str:
    text = str(value)
    if '"' in text:
        raise CMMSError(f"{what}: {text!r} contains a double quote, which Maximo's oslc.where cannot express")
    return f'"{text}"'


def eq(attribute: str, value: object, what: str) -> str:
    return f"{attribute}={quote(value, what)}"


def any_of(attribute: str, values: Iterable[object], what: str) -> str:
    values = list(dict.fromkeys(values))
    if len(values) == 1:
        return eq(attribute, values[0], what)
    return f"{attribute} in [{','.join(quote(v, what) for v in values)}]"


def all_of(*clauses: str | None) -> str:
    return " and ".join(c for c in clauses if c)


def iso_time(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def approval_key(reference: str) -> str:
    """The approval reference as Maximo's external reference field can hold it: 10 characters of
    its SHA-256 in base32 (50 bits; a match is also checked against the draft's asset)."""
    digest = hashlib.sha256(reference.encode()).digest()
    return base64.b32encode(digest).decode()[:APPROVAL_KEY_LENGTH]


# -- records ---------------------------------------------------------------------------------------


def asset_from(m: Mapping[str, Any]) -> Asset:
    classification = m.get("classstructure")
    if isinstance(classification, list):
        classification = classification[0] if classification else None
    priority = to_int(m.get("priority"))
    criticality = None if priority is None or priority < 1 else "A" if priority == 1 else "B" if priority == 2 else "C"
    return Asset(
        tag=str(m["assetnum"]),
        name=str(m.get("description") or m["assetnum"]),
        class_code=(classification or {}).get("classificationid") if isinstance(classification, dict) else None,
        location=m.get("location") or None,
        criticality=cast(Any, criticality),
        status=str(m.get("status_maxvalue") or m.get("status") or "OPERATING"),
    )


def work_order_from(m: Mapping[str, Any]) -> WorkOrder:
    number = str(m.get("wonum") or "")
    codes: dict[str, str] = {}
    for row in m.get("failurereport") or []:
        kind = str(row.get("type_maxvalue") or row.get("type") or "").upper()
        if row.get("failurecode") and kind not in codes:
            codes[kind] = str(row["failurecode"])
    return WorkOrder(
        number=number,
        asset_tag=str(m.get("assetnum") or m.get("location") or ""),
        wo_type=_wo_type(m.get("worktype"), number),
        priority=to_int(m.get("wopriority")),
        status=_wo_status(m, number),
        problem_code=m.get("problemcode") or codes.get("PROBLEM"),
        cause_code=codes.get("CAUSE"),
        remedy_code=codes.get("REMEDY"),
        description=str(m.get("description") or ""),
        long_text=plain_text(m.get("description_longdescription")),
        labour_hours=to_decimal_or_none(m.get("actlabhrs")),
        reported_at=to_datetime(m.get("reportdate")),
        scheduled_at=to_datetime(m.get("schedstart")),
        started_at=to_datetime(m.get("actstart")),
        finished_at=to_datetime(m.get("actfinish")),
        parts_used=_parts_used(m.get("matusetrans")),
    )


def _wo_type(value: object, number: str) -> WorkOrderType:
    known = _TYPES_FROM_MAXIMO.get(str(value or "").upper())
    if known is None:
        log.warning("work order %s has Maximo work type %r, which maintgraph does not know: read as CM", number, value)
        return "CM"
    return known


def _wo_status(m: Mapping[str, Any], number: str) -> WorkOrderStatus:
    internal = str(m.get("status_maxvalue") or m.get("status") or "").upper()
    internal = _STATUS_ALIASES.get(internal, internal)
    if internal not in TRANSITIONS:
        raise CMMSError(
            f"work order {number} has Maximo status {m.get('status')!r}, which maintgraph cannot place "
            f"in its lifecycle ({', '.join(TRANSITIONS)})"
        )
    return cast(WorkOrderStatus, internal)


def _parts_used(rows: object) -> list[tuple[str, Decimal]]:
    used: dict[str, Decimal] = {}
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, dict) and row.get("itemnum"):
            used[str(row["itemnum"])] = used.get(str(row["itemnum"]), Decimal(0)) - to_decimal(row.get("quantity"))
    return [(item, quantity) for item, quantity in used.items() if quantity > 0]  # issues are negative in Maximo


def pm_plan_from(m: Mapping[str, Any], asset_tag: str) -> PMPlan:
    frequency, unit = to_int(m.get("frequency")), str(m.get("frequnit_maxvalue") or m.get("frequnit") or "").upper()
    interval_days = frequency * _FREQ_DAYS[unit] if frequency and unit in _FREQ_DAYS else None
    last_at = to_datetime(m.get("lastcompdate")) or to_datetime(m.get("laststartdate"))
    next_at = to_datetime(m.get("nextdate")) or (
        last_at + timedelta(days=interval_days) if last_at and interval_days else None
    )
    meters = [r for r in m.get("pmmeter") or [] if isinstance(r, dict) and r.get("metername")]
    meter = meters[0] if meters else {}
    interval_meter = to_decimal_or_none(meter.get("frequency"))
    last_meter = to_decimal_or_none(meter.get("lastpmwogenread"))
    return PMPlan(
        id=str(m["pmnum"]),
        asset_tag=str(m.get("assetnum") or asset_tag),
        description=str(m.get("description") or ""),
        interval_days=interval_days,
        meter=meter.get("metername"),
        interval_meter=interval_meter or None,
        last_done_at=last_at,
        next_due_at=next_at,
        last_done_meter=last_meter,
        next_due_meter=last_meter + interval_meter if last_meter is not None and interval_meter else None,
    )


# -- values ----------------------------------------------------------------------------------------


def plain_text(text: object) -> str | None:
    """Maximo's rich-text long descriptions (HTML) as plain text."""
    if not text:
        return None
    value = str(text)
    if re.search(r"</?[a-zA-Z][^>]*>", value):
        value = re.sub(r"(?i)<br\s*/?>|</(p|div|li)>", "\n", value)
        value = html.unescape(re.sub(r"<[^>]+>", "", value))
        value = "\n".join(line.strip() for line in value.splitlines())
        value = re.sub(r"\n{3,}", "\n\n", value)
    return value.strip() or None


def clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 3].rstrip() + "..."


def to_datetime(value: object) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        log.warning("Maximo sent a date that is not ISO 8601: %r", value)
        return None


def to_int(value: object) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return None


def to_decimal(value: object) -> Decimal:
    return to_decimal_or_none(value) or Decimal(0)


def to_decimal_or_none(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def json_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)
