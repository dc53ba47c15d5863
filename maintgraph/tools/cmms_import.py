"""Importers of CMMS exports into the product's CMMS tables.

- ``assetopsbench``: the AssetOpsBench sample data folder (failure codes with primary and
  secondary codes, work orders of chillers and AHUs, the event log).
- ``maintkg``: MaintKG's excavator work orders (SAP PM types, shorthand text).
- ``plant``: the sample plant's folder in ``data/plant`` (asset register, spare parts, work orders).
- ``mapped``: any work-order export (CSV or XLSX) read through a column mapping written by
  ``maintgraph graph map`` (:mod:`maintgraph.graph.loaders.mapping`): its own headers, its own
  date format, statuses, types and priorities in words (Closed, Preventive, 2 - Urgent). Assets
  it names that the CMMS does not know yet are added under their tag.

Dates are read with explicit formats (``4/6/16 14:00`` is month/day/year in AssetOpsBench). A row
that cannot be imported is reported with its file, line and reason; the other rows are
imported, all in one transaction.

An import's source is its kind and the export's resolved path (``plant:/data/exports/plant``):
two exports with the same file name in different folders are two sources, and a work order
number one of them already holds is not taken by the other (the row is skipped and counted).
Importing the same export again updates its work orders in place: local work on them stays
(status changes and their history, reservations), except that a status the export itself
changed since the last import replaces the local one (recorded in the history; a closed work
order's reservations are released). A work order no longer in the export is removed, unless
local actions refer to it (kept and counted). A database whose imports were named
``kind:filename`` (before sources were named by path) hands those rows to the first import of
that kind whose file has that name.
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
from maintgraph.graph.loaders.mapping import SheetMapping, read_mapped
from maintgraph.graph.loaders.tabular import Column, Problems, parse_datetime, read_sheet
from maintgraph.tools.cmms import TRANSITIONS, WorkOrderType
from maintgraph.tools.postgres_cmms import release_reservations

ASSETOPS_DATES = ("%m/%d/%y %H:%M", "%m/%d/%Y %H:%M", "%m/%d/%y")
PLANT_DATES = ("%Y-%m-%d %H:%M", "%Y-%m-%d")
# SAP PM order types as MaintKG's export uses them.
SAP_TYPES = {"PM01": "CM", "PM02": "PM", "PM03": "PM", "PM04": "INSP", "PM05": "CM", "PM06": "EM", "PM13": "CM"}
FORMATS = ("assetopsbench", "maintkg", "plant", "mapped")


@dataclass
class ImportReport:
    source: str
    counts: dict[str, int] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)  # "file:line: reason"

    def reject(self, path: Path, line: int, reason: str) -> None:
        self.rejected.append(f"{path.name}:{line}: {reason}")


def import_cmms(conn: psycopg.Connection, path: Path, kind: str, mapping: SheetMapping | None = None) -> ImportReport:
    """Import an export; ``mapping`` (kind ``mapped``): the column mapping of a work-order export."""
    importers: dict[str, Callable[[psycopg.Connection, Path, ImportReport], None]] = {
        "assetopsbench": _assetopsbench, "maintkg": _maintkg, "plant": _plant,
    }  # fmt: skip
    if mapping is not None or kind == "mapped":
        if mapping is None or mapping.kind != "work_orders":
            what = "no mapping was given" if mapping is None else f"the mapping is for {mapping.kind}"
            raise LoadError(str(path), [f"{path}: a mapped import takes a work_orders mapping ({what})"])
        kind = "mapped"
        importers["mapped"] = lambda conn, path, report: _mapped(conn, path, report, mapping)
    if kind not in importers:
        raise LoadError(str(path), [f"{path}: unknown format {kind!r} (one of {', '.join(FORMATS)})"])
    if not path.exists():
        raise LoadError(str(path), [f"{path}: does not exist"])
    report = ImportReport(source_name(kind, path))
    try:
        with conn.transaction():
            _adopt_rows_named_by_file_name(conn, report, f"{kind}:{path.name}")
            conn.execute("DELETE FROM cmms_events WHERE source = %s", (report.source,))  # only imports write them
            importers[kind](conn, path, report)
    except psycopg.errors.IntegrityError as exc:  # a rule the row checks above did not foresee
        detail = f" ({exc.diag.message_detail})" if exc.diag.message_detail else ""
        reason = f"refused by the database, nothing imported: {exc.diag.message_primary}{detail}"
        raise LoadError(str(path), [f"{path}: {reason}"]) from None
    return report


def source_name(kind: str, path: Path) -> str:
    """The name of an import's source: its kind and the export's resolved path. A path, not the
    content's hash: a re-exported file at the same place is the same source, changed or not."""
    return f"{kind}:{path.resolve()}"


def _adopt_rows_named_by_file_name(conn: psycopg.Connection, report: ImportReport, old_name: str) -> None:
    """Rows an import wrote when sources were named ``kind:filename`` become this source's."""
    for table in ("work_orders", "cmms_events", "assets"):
        conn.execute(f"UPDATE {table} SET source = %s WHERE source = %s", (report.source, old_name))


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
    _upsert_orders(conn, orders, report)
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
    _upsert_orders(conn, orders, report)
    report.counts["assets"] = len(assets)


# -- any work-order export, through a column mapping ------------------------------------------------


def _mapped(conn: psycopg.Connection, path: Path, report: ImportReport, mapping: SheetMapping) -> None:
    from maintgraph.graph.loaders.work_orders import PLANT_COLUMNS, _priority, _status, _wo_type

    if not path.is_file():
        raise LoadError(str(path), [f"{path}: a mapped import reads one sheet (CSV or XLSX), not a folder"])
    problems = Problems(path.name)
    rows = read_mapped(path, PLANT_COLUMNS, problems, mapping)
    _iso_failure_codes(conn)
    codes = {row["code"] for row in conn.execute("SELECT code FROM failure_codes")}
    dates = mapping.date_formats(PLANT_DATES)
    orders, tags = [], set()
    for row in rows:
        row_problems = Problems(path.name)
        number, tag = row.get("number"), row.get("tag")
        reported = parse_datetime(row.get("reported_at"), dates)
        finished = parse_datetime(row.get("finished_at"), dates) if row.get("finished_at") else None
        wo_type, status = _wo_type(row.get("wo_type")), _status(row.get("status"))
        priority = _priority(row, row_problems)
        code = row.get("failure_code").upper() or None
        written = mapping.date_format or "YYYY-MM-DD"
        if not number or not tag or not row.get("description"):
            reason = "number, asset or description is empty"
        elif reported is None:
            reason = f"reported_at {row.get('reported_at')!r} is not {written}"
        elif row.get("finished_at") and finished is None:
            reason = f"finished_at {row.get('finished_at')!r} is not {written}"
        elif wo_type not in WORK_ORDER_TYPES:
            reason = f"type {row.get('wo_type')!r} is not one of {', '.join(sorted(WORK_ORDER_TYPES))}"
        elif status not in WORK_ORDER_STATUSES:
            reason = f"status {row.get('status')!r} is not one of {', '.join(sorted(WORK_ORDER_STATUSES))}"
        elif code and code not in codes:
            reason = f"failure code {code!r} is not a known failure code"
        elif row_problems.items:
            reason = row_problems.items[0].split(": ", 1)[-1]
        else:
            reason = ""
        if reason:
            report.reject(path, row.line, f"{number or '(no number)'}: {reason}")
            continue
        tags.add(tag)
        orders.append((number, tag, wo_type, priority, code, row.get("description"),
                       _decimal(row.get("labor_hours")), finished, report.source, status, reported,
                       row.get("long_text") or None))  # fmt: skip
    with conn.cursor() as cur:  # assets the CMMS does not know yet, named by their tag; known ones stay as they are
        cur.executemany(
            "INSERT INTO assets (tag, name, source) VALUES (%s, %s, %s) ON CONFLICT (tag) DO NOTHING",
            [(tag, tag, report.source) for tag in sorted(tags)],
        )
    report.counts["assets"] = len(tags)
    _upsert_orders(conn, orders, report)


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
                       finished, report.source, row["status"], reported, row["long_text"] or None,
                       row.get("component") or None))  # fmt: skip
        for item in filter(None, re.split(r"[;,]\s*", row["parts_used"])):
            part, _, quantity = item.partition(":")
            parts_used.append((row["number"], part.strip(), _decimal(quantity or "1")))
    held = _upsert_orders(conn, orders, report)
    conn.execute("DELETE FROM work_order_parts WHERE number = ANY(%s)", (sorted(held),))  # only imports write them
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO work_order_parts (number, part_number, quantity) VALUES (%s, %s, %s)",
                        [used for used in parts_used if used[0] in held])  # fmt: skip
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


def _upsert_orders(conn: psycopg.Connection, orders: list[tuple], report: ImportReport) -> set[str]:
    """Rows: number, asset, type, priority, code, description, hours, finished, source, and optionally
    status, reported, long_text (imports without them are closed history) and component. Answers the
    numbers this source holds now (those another source holds are skipped)."""
    rows: dict[str, tuple] = {}
    for order in orders:
        full = (*order, "CLOSE", None, None)[:12] if len(order) == 9 else order
        rows.setdefault(order[0], (*full, None)[:13])
    if len(rows) < len(orders):
        repeated = len(orders) - len(rows)
        report.rejected.append(f"{repeated} work order(s) repeat a number earlier in the export: skipped")
    conn.execute("DROP TABLE IF EXISTS pg_temp.incoming_work_orders")
    conn.execute(
        """CREATE TEMP TABLE incoming_work_orders (number text PRIMARY KEY, asset_tag text, wo_type text,
               priority smallint, problem_code text, description text, labour_hours numeric, finished_at timestamptz,
               source text, status text, reported_at timestamptz, long_text text, component text) ON COMMIT DROP"""
    )
    with (
        conn.cursor() as cur,
        cur.copy(
            "COPY incoming_work_orders (number, asset_tag, wo_type, priority, problem_code, description, labour_hours, "
            "finished_at, source, status, reported_at, long_text, component) FROM STDIN"
        ) as copy,
    ):
        for row in rows.values():
            copy.write_row(row)
    others = conn.execute(
        """SELECT w.source, count(*) AS n FROM incoming_work_orders i JOIN work_orders w USING (number)
           WHERE w.source <> %s GROUP BY 1 ORDER BY 2 DESC, 1""",
        (report.source,),
    ).fetchall()
    for other in others:  # e.g. the same export imported from another folder: a different source
        report.rejected.append(f"{other['n']} work order(s) repeat a number that {other['source']} imported: skipped")
    # A status the export changed since the last import wins over a local change, and is recorded.
    moved = conn.execute(
        """SELECT w.number, w.status AS local, i.status AS exported FROM incoming_work_orders i
           JOIN work_orders w USING (number)
           WHERE w.source = %s AND w.imported_status IS DISTINCT FROM i.status AND w.status <> i.status""",
        (report.source,),
    ).fetchall()
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO work_orders (number, asset_tag, wo_type, priority, problem_code, description, labour_hours,
                   finished_at, source, status, imported_status, reported_at, long_text, component)
               SELECT number, asset_tag, wo_type, priority, problem_code, description, labour_hours, finished_at,
                   source, status, status, reported_at, long_text, component FROM incoming_work_orders
               ON CONFLICT (number) DO UPDATE SET asset_tag = excluded.asset_tag, wo_type = excluded.wo_type,
                   priority = excluded.priority, problem_code = excluded.problem_code,
                   description = excluded.description, labour_hours = excluded.labour_hours,
                   finished_at = coalesce(excluded.finished_at, work_orders.finished_at),
                   reported_at = excluded.reported_at, long_text = excluded.long_text,
                   component = excluded.component,
                   status = CASE WHEN work_orders.imported_status IS DISTINCT FROM excluded.status
                                 THEN excluded.status ELSE work_orders.status END,
                   imported_status = excluded.status
               WHERE work_orders.source = excluded.source"""
        )
        report.counts["work_orders"] = report.counts.get("work_orders", 0) + cur.rowcount
        cur.executemany(
            "INSERT INTO work_order_status_history (number, from_status, to_status, memo) VALUES (%s, %s, %s, %s)",
            [(m["number"], m["local"], m["exported"], f"from the export ({report.source})") for m in moved],
        )
    released = release_reservations(conn, [m["number"] for m in moved if m["exported"] in ("COMP", "CLOSE", "CAN")])
    if released:
        report.counts["stock_rows_released"] = released
    # Work orders the export no longer has go, unless local actions (status changes, reservations) refer to them.
    gone = conn.execute(
        """SELECT w.number, EXISTS (SELECT 1 FROM work_order_status_history h WHERE h.number = w.number)
                  OR EXISTS (SELECT 1 FROM reservations r WHERE r.work_order = w.number) AS local
           FROM work_orders w WHERE w.source = %s
           AND NOT EXISTS (SELECT 1 FROM incoming_work_orders i WHERE i.number = w.number)""",
        (report.source,),
    ).fetchall()
    conn.execute("DELETE FROM work_orders WHERE number = ANY(%s)", ([g["number"] for g in gone if not g["local"]],))
    if any(g["local"] for g in gone):
        report.counts["kept_with_local_changes"] = sum(g["local"] for g in gone)
    held = conn.execute(
        "SELECT number FROM work_orders w WHERE w.source = %s AND number IN (SELECT number FROM incoming_work_orders)",
        (report.source,),
    ).fetchall()
    return {h["number"] for h in held}


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
