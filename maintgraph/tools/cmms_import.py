"""Importers of CMMS exports into the product's CMMS tables.

- ``assetopsbench``: the AssetOpsBench sample data folder (failure codes with primary and
  secondary codes, work orders of chillers and AHUs, the event log).
- ``maintkg``: MaintKG's excavator work orders (SAP PM types, shorthand text).
- ``plant``: the sample plant's folder in ``data/plant`` (asset register, spare parts, work orders).

Dates are read with explicit formats (``4/6/16 14:00`` is month/day/year in AssetOpsBench). A row
that cannot be imported is reported with its file, line and reason; the other rows are
imported, all in one transaction, and re-importing the same export replaces its rows.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import get_args

import psycopg

from maintgraph.errors import LoadError
from maintgraph.graph.loaders.tabular import Column, Problems, parse_datetime, read_sheet
from maintgraph.tools.cmms import TRANSITIONS, WorkOrderType

ASSETOPS_DATES = ("%m/%d/%y %H:%M", "%m/%d/%Y %H:%M", "%m/%d/%y")
PLANT_DATES = ("%Y-%m-%d %H:%M", "%Y-%m-%d")
# SAP PM order types as MaintKG's export uses them.
SAP_TYPES = {"PM01": "CM", "PM02": "PM", "PM03": "PM", "PM04": "INSP", "PM05": "CM", "PM06": "EM", "PM13": "CM"}
FORMATS = ("assetopsbench", "maintkg", "plant")


@dataclass
class ImportReport:
    source: str
    counts: dict[str, int] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)  # "file:line: reason"

    def reject(self, path: Path, line: int, reason: str) -> None:
        self.rejected.append(f"{path.name}:{line}: {reason}")


def import_cmms(conn: psycopg.Connection, path: Path, kind: str) -> ImportReport:
    importers: dict[str, Callable[[psycopg.Connection, Path, ImportReport], None]] = {
        "assetopsbench": _assetopsbench, "maintkg": _maintkg, "plant": _plant,
    }  # fmt: skip
    if kind not in importers:
        raise LoadError(str(path), [f"{path}: unknown format {kind!r} (one of {', '.join(FORMATS)})"])
    if not path.exists():
        raise LoadError(str(path), [f"{path}: does not exist"])
    report = ImportReport(f"{kind}:{path.name}")
    try:
        with conn.transaction():
            _forget_previous_import(conn, report)
            importers[kind](conn, path, report)
    except psycopg.errors.IntegrityError as exc:  # a rule the row checks above did not foresee
        detail = f" ({exc.diag.message_detail})" if exc.diag.message_detail else ""
        reason = f"refused by the database, nothing imported: {exc.diag.message_primary}{detail}"
        raise LoadError(str(path), [f"{path}: {reason}"]) from None
    return report


def _forget_previous_import(conn: psycopg.Connection, report: ImportReport) -> None:
    """Remove what an earlier import of the same export wrote, releasing the stock its work
    orders had reserved (their reservations go with them)."""
    released = conn.execute(
        """WITH gone AS (DELETE FROM reservations r USING work_orders w
                         WHERE r.work_order = w.number AND w.source = %s
                         RETURNING r.part_number, r.storeroom, r.quantity)
           UPDATE stock s SET reserved = s.reserved - g.total
           FROM (SELECT part_number, storeroom, sum(quantity) AS total FROM gone GROUP BY 1, 2) g
           WHERE s.part_number = g.part_number AND s.storeroom = g.storeroom""",
        (report.source,),
    ).rowcount
    if released:
        report.counts["stock_rows_released"] = released
    conn.execute("DELETE FROM work_orders WHERE source = %s", (report.source,))
    conn.execute("DELETE FROM cmms_events WHERE source = %s", (report.source,))


# -- AssetOpsBench -------------------------------------------------------------------------------


def _assetopsbench(conn: psycopg.Connection, folder: Path, report: ImportReport) -> None:
    codes = _csv(folder / "failure_codes.csv")
    known: set[str] = set()
    for _, row in codes:
        for code, description, parent in ((row["primary_code"], row["primary_code_description"], None),
                                          (row["secondary_code"], row["secondary_code_description"],
                                           row["primary_code"])):  # fmt: skip
            if code and code not in known:
                conn.execute(
                    """INSERT INTO failure_codes (code, kind, description, parent, category)
                       VALUES (%s, 'problem', %s, %s, %s) ON CONFLICT (code) DO UPDATE
                       SET description = excluded.description, parent = excluded.parent""",
                    (code, description, parent, row["category"]),
                )
                known.add(code)
    report.counts["failure_codes"] = len(known)
    wo_path = folder / "all_wo_with_code_component_events.csv"
    orders, assets = [], {}
    for line, row in _csv(wo_path):
        code = row["secondary_code"] or row["primary_code"]
        finished = parse_datetime(row["actual_finish"], ASSETOPS_DATES)
        if not row["wo_id"] or not row["equipment_id"]:
            report.reject(wo_path, line, "wo_id or equipment_id is empty")
        elif code and code not in known:
            report.reject(wo_path, line, f"{row['wo_id']}: failure code {code!r} is not in failure_codes.csv")
        elif finished is None:
            report.reject(wo_path, line, f"{row['wo_id']}: actual_finish {row['actual_finish']!r} is not M/D/YY H:MM")
        else:
            assets[row["equipment_id"]] = (row["equipment_name"], row["collection"])
            orders.append((
                row["wo_id"], row["equipment_id"], "PM" if row["preventive"].upper() == "TRUE" else "CM",
                _int_or_none(row["work_priority"]), code or None, row["wo_description"] or code or "(no description)",
                _hours(row["actual_labor_hours"]), finished, report.source,
            ))  # fmt: skip
    _upsert_assets(conn, [(tag, name, cls, report.source) for tag, (name, cls) in assets.items()])
    _insert_orders(conn, orders, report)
    events_path = folder / "event.csv"
    events = []
    for line, row in _csv(events_path):
        when = parse_datetime(row["event_time"], ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"))
        if when is None:
            report.reject(events_path, line, f"event_time {row['event_time']!r} is not YYYY-MM-DD HH:MM:SS")
            continue
        assets.setdefault(row["equipment_id"], (row["equipment_name"], None))
        events.append((row["event_id"], row["event_group"], row["event_category"], row["event_type"],
                       row["description"], row["equipment_id"], when, report.source))  # fmt: skip
    _upsert_assets(conn, [(tag, name, cls, report.source) for tag, (name, cls) in assets.items()])
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO cmms_events (id, event_group, category, event_type, description, asset_tag, event_time,
                   source)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING""",
            events,
        )
        inserted = report.counts["events"] = cur.rowcount
    if inserted < len(events):
        report.rejected.append(f"{len(events) - inserted} event(s) repeat an id already imported: skipped")
    report.counts["assets"] = len(assets)


# -- MaintKG -------------------------------------------------------------------------------------


def _maintkg(conn: psycopg.Connection, path: Path, report: ImportReport) -> None:
    orders, assets = [], set()
    for line, row in _csv(path):
        started = parse_datetime(row["BscStartDate"], ("%Y-%m-%d",))
        wo_type = SAP_TYPES.get(row["PMType"])
        if started is None:
            report.reject(path, line, f"BscStartDate {row['BscStartDate']!r} is not YYYY-MM-DD")
        elif wo_type is None:
            report.reject(path, line, f"order type {row['PMType']!r} is not one of {', '.join(SAP_TYPES)}")
        elif not row["OriginalShorttext"].strip():
            report.reject(path, line, "OriginalShorttext is empty")
        else:
            tag = f"EXC-{row['Asset']}"
            assets.add(tag)
            orders.append((f"PDL-{row['id']}", tag, wo_type, None, None, row["OriginalShorttext"].strip(), None,
                           started, report.source))  # fmt: skip
    _upsert_assets(conn, [(tag, f"Excavator {tag[4:]}", "EXCAVATOR", report.source) for tag in sorted(assets)])
    _insert_orders(conn, orders, report)
    report.counts["assets"] = len(assets)


# -- the sample plant ----------------------------------------------------------------------------


def _plant(conn: psycopg.Connection, folder: Path, report: ImportReport) -> None:
    problems = Problems(str(folder))
    register = read_sheet(folder / "asset_register.csv", [Column("tag"), Column("name"), Column("class_code"),
                          Column("system_name"), Column("criticality")], problems)  # fmt: skip
    _upsert_assets(conn, [(r.get("tag"), r.get("name"), r.get("class_code"), report.source) for r in register],
                   {r.get("tag"): (r.get("system_name"), r.get("criticality") or None) for r in register})  # fmt: skip
    report.counts["assets"] = len(register)
    _iso_failure_codes(conn)
    for _, row in _csv(folder / "spare_parts.csv"):
        conn.execute(
            """INSERT INTO parts (part_number, name, manufacturer, unit, unit_cost) VALUES (%s, %s, %s, %s, %s)
               ON CONFLICT (part_number) DO UPDATE SET name = excluded.name, unit_cost = excluded.unit_cost""",
            (row["part_number"], row["name"], row["manufacturer"], row["unit"], _decimal(row["unit_cost"])),
        )
        conn.execute(
            """INSERT INTO stock (part_number, storeroom, quantity_on_hand, reorder_point) VALUES (%s, %s, %s, %s)
               ON CONFLICT (part_number, storeroom) DO UPDATE SET quantity_on_hand = excluded.quantity_on_hand""",
            (row["part_number"], row["storeroom"], _decimal(row["quantity_on_hand"]), _decimal(row["reorder_point"])),
        )
        report.counts["parts"] = report.counts.get("parts", 0) + 1
    _plant_meters_and_plans(conn, folder, report)
    path = folder / "work_orders.csv"
    orders, parts_used = [], []
    tags = {r.get("tag") for r in register}
    codes = {row["code"] for row in conn.execute("SELECT code FROM failure_codes")}
    for line, row in _csv(path):
        reported = parse_datetime(row["reported_at"], PLANT_DATES)
        finished = parse_datetime(row["finished_at"], PLANT_DATES) if row["finished_at"] else None
        problem = _plant_row_problem(row, reported, finished, tags, codes)
        if problem:
            report.reject(path, line, f"{row['number'] or '(no number)'}: {problem}")
            continue
        orders.append((row["number"], row["tag"], row["wo_type"], _int_or_none(row["priority"]),
                       row["failure_code"] or None, row["description"], _decimal(row["labor_hours"]),
                       finished, report.source, row["status"], reported, row["long_text"] or None))  # fmt: skip
        for item in filter(None, re.split(r"[;,]\s*", row["parts_used"])):
            part, _, quantity = item.partition(":")
            parts_used.append((row["number"], part.strip(), _decimal(quantity or "1")))
    _insert_orders(conn, orders, report)
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO work_order_parts (number, part_number, quantity) VALUES (%s, %s, %s)", parts_used)
    # A time-based plan was last done when its asset last finished a work order of the plan's type.
    conn.execute(
        """UPDATE pm_plans p SET last_done_at = (
               SELECT max(w.finished_at) FROM work_orders w WHERE w.asset_tag = p.asset_tag
               AND w.wo_type = p.wo_type AND w.status IN ('COMP', 'CLOSE'))
           WHERE p.interval_days IS NOT NULL"""
    )
    problems.raise_if_any()


def _plant_meters_and_plans(conn: psycopg.Connection, folder: Path, report: ImportReport) -> None:
    for _, row in _csv(folder / "cmms" / "meter_readings.csv"):
        conn.execute("INSERT INTO meters (asset_tag, name, unit) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                     (row["tag"], row["meter"], row["unit"]))  # fmt: skip
        conn.execute(
            "INSERT INTO meter_readings (asset_tag, name, read_at, value) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (asset_tag, name, read_at) DO UPDATE SET value = excluded.value",
            (row["tag"], row["meter"], parse_datetime(row["read_at"], PLANT_DATES), _decimal(row["value"])),
        )
    for _, row in _csv(folder / "cmms" / "pm_plans.csv"):
        conn.execute(
            """INSERT INTO pm_plans (id, asset_tag, description, wo_type, interval_days, meter, interval_meter)
               VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET description = excluded.description,
                   wo_type = excluded.wo_type, interval_days = excluded.interval_days,
                   interval_meter = excluded.interval_meter""",
            (row["id"], row["tag"], row["description"], row["wo_type"], _int_or_none(row["interval_days"]),
             row["meter"] or None, _decimal(row["interval_meter"])),
        )  # fmt: skip
        report.counts["pm_plans"] = report.counts.get("pm_plans", 0) + 1


WORK_ORDER_TYPES = set(get_args(WorkOrderType))
WORK_ORDER_STATUSES = set(TRANSITIONS)


def _plant_row_problem(row: dict[str, str], reported: str | None, finished: str | None, tags: set[str],
                       codes: set[str]) -> str | None:  # fmt: skip
    """Why a plant work-order row cannot be imported, or None."""
    if not row["number"] or not row["description"]:
        return "number or description is empty"
    if reported is None:
        return f"reported_at {row['reported_at']!r} is not YYYY-MM-DD HH:MM"
    if row["finished_at"] and finished is None:
        return f"finished_at {row['finished_at']!r} is not YYYY-MM-DD HH:MM"
    if row["tag"] not in tags:
        return f"asset {row['tag']!r} is not in asset_register.csv"
    if row["wo_type"] not in WORK_ORDER_TYPES:
        return f"type {row['wo_type']!r} is not one of {', '.join(sorted(WORK_ORDER_TYPES))}"
    if row["status"] not in WORK_ORDER_STATUSES:
        return f"status {row['status']!r} is not one of {', '.join(sorted(WORK_ORDER_STATUSES))}"
    if row["failure_code"] and row["failure_code"] not in codes:
        return f"failure code {row['failure_code']!r} is not an ISO 14224 failure-mode code"
    if row["priority"] and _int_or_none(row["priority"]) not in range(1, 6):
        return f"priority {row['priority']!r} is not 1-5"
    return None


def _iso_failure_codes(conn: psycopg.Connection) -> None:
    """ISO 14224 failure-mode codes (the sample plant codes its work orders with them)."""
    vocab = Path(__file__).resolve().parents[1] / "graph" / "vocab" / "iso14224_failureModeCode.csv"
    for _, row in _csv(vocab):
        conn.execute(
            """INSERT INTO failure_codes (code, kind, description, category) VALUES (%s, 'problem', %s, 'ISO 14224')
               ON CONFLICT (code) DO NOTHING""",
            (row["ISO14224_FailureModeCode"], row["ISO14224_FailureMode"]),
        )


# -- shared ----------------------------------------------------------------------------------------


def _csv(path: Path) -> list[tuple[int, dict[str, str]]]:
    if not path.is_file():
        raise LoadError(str(path), [f"{path}: missing from the export"])
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return [
            (n, {k: (v or "").strip() for k, v in row.items() if k}) for n, row in enumerate(csv.DictReader(handle), 2)
        ]


def _upsert_assets(conn: psycopg.Connection, rows: list[tuple], details: dict | None = None) -> None:
    details = details or {}
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO assets (tag, name, class_code, source, location, criticality) VALUES (%s, %s, %s, %s, %s, %s)
               ON CONFLICT (tag) DO UPDATE SET name = excluded.name,
                   location = coalesce(excluded.location, assets.location),
                   criticality = coalesce(excluded.criticality, assets.criticality)""",
            [(*row, *details.get(row[0], (None, None))) for row in rows],
        )


def _insert_orders(conn: psycopg.Connection, orders: list[tuple], report: ImportReport) -> None:
    """Rows: number, asset, type, priority, code, description, hours, finished, source, and optionally
    status, reported, long_text (imports without them are closed history)."""
    full = [(*o, "CLOSE", None, None)[:12] if len(o) == 9 else o for o in orders]
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO work_orders (number, asset_tag, wo_type, priority, problem_code, description, labour_hours,
                   finished_at, source, status, reported_at, long_text)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (number) DO NOTHING""",
            full,
        )
        inserted = cur.rowcount
    if inserted < len(full):
        report.rejected.append(f"{len(full) - inserted} work order(s) repeat a number already imported: skipped")
    report.counts["work_orders"] = report.counts.get("work_orders", 0) + inserted


def _int_or_none(text: str) -> int | None:
    return int(text) if text and text.isdigit() else None


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text) if text else None
    except InvalidOperation:
        return None


def _hours(text: str) -> Decimal | None:
    """AssetOpsBench writes labour as H:MM."""
    hours, _, minutes = text.partition(":")
    if not hours.isdigit():
        return None
    return Decimal(hours) + (Decimal(minutes) / 60 if minutes.isdigit() else 0)
