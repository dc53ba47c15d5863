"""Analytic queries over the CMMS's records: counts, totals, averages, shares and rankings of work
orders, PM plans, meter readings and parts used, answered exactly by SQL.

A :class:`CMMSQuery` is typed: what it selects (:class:`WorkOrderFilter`: equipment, system, type,
status, failure code, component, period), the operation and what the operation groups or measures,
each a whitelisted literal. :func:`run` builds the SQL from fixed fragments for those literals; every
value the question supplied (a tag, a code, a date) reaches Postgres only as a parameter.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

import psycopg
from pydantic import BaseModel

from maintgraph.tools.cmms import WorkOrderType

Operation = Literal["count", "list", "sum", "average", "percentage", "top", "group", "latest", "pm_plans", "meter",
                    "parts_used"]  # fmt: skip
Measure = Literal["labour_hours", "repair_hours"]
GroupBy = Literal["asset_tag", "system", "problem_code", "component"]
MEASURES: dict[str, str] = {
    "labour_hours": "w.labour_hours",
    # report to finish: only work orders with both times
    "repair_hours": "extract(epoch FROM (w.finished_at - w.reported_at)) / 3600.0",
}
GROUPS: dict[str, str] = {"asset_tag": "w.asset_tag", "system": "a.location", "problem_code": "w.problem_code",
                          "component": "w.component"}  # fmt: skip
LISTED = 12  # work orders named in an answer; more are counted and cited compactly


class WorkOrderFilter(BaseModel):
    tags: list[str] = []
    systems: list[str] = []  # the asset's location / system, as the CMMS names it
    wo_types: list[WorkOrderType] = []
    statuses: list[str] = []
    failure_codes: list[str] = []
    has_failure_code: bool | None = None
    components: list[str] = []
    period: tuple[date, date] | None = None  # reported in [start, end)

    def sql(self) -> tuple[list[str], dict[str, Any]]:
        """WHERE clauses (fixed text) and their parameters."""
        where: list[str] = []
        params: dict[str, Any] = {}
        for name, column, values in (("tags", "w.asset_tag", self.tags), ("systems", "a.location", self.systems),
                                     ("types", "w.wo_type", self.wo_types), ("statuses", "w.status", self.statuses),
                                     ("codes", "w.problem_code", self.failure_codes),
                                     ("components", "w.component", self.components)):  # fmt: skip
            if values:
                where.append(f"{column} = ANY(%({name})s)")
                params[name] = list(values)
        if self.has_failure_code is not None:
            where.append("w.problem_code IS NOT NULL" if self.has_failure_code else "w.problem_code IS NULL")
        if self.period:
            where.append("w.reported_at >= %(start)s AND w.reported_at < %(end)s")
            params["start"], params["end"] = self.period
        return where, params


class CMMSQuery(BaseModel):
    scope: WorkOrderFilter = WorkOrderFilter()
    operation: Operation = "count"
    # A percentage's part: these filters on top of the scope (the scope alone is the whole).
    part: WorkOrderFilter | None = None
    measure: Measure = "labour_hours"
    group_by: GroupBy | None = None
    limit: int | None = None  # top-n (ties at the n-th value included)


def _from(where: list[str]) -> str:
    return "FROM work_orders w JOIN assets a ON a.tag = w.asset_tag WHERE " + (" AND ".join(where) or "true")


def _merged(scope: WorkOrderFilter, part: WorkOrderFilter) -> tuple[list[str], dict[str, Any]]:
    where, params = scope.sql()
    more, extra = part.sql()
    for key, value in extra.items():  # the part's parameters under their own names
        more = [clause.replace(f"%({key})s", f"%(part_{key})s") for clause in more]
        params[f"part_{key}"] = value
    return where + more, params


def run(conn: psycopg.Connection, query: CMMSQuery) -> dict[str, Any]:
    """The query's result: figures, the rows they came from (work-order numbers to cite)."""
    where, params = query.scope.sql()
    if query.operation == "pm_plans":
        rows = conn.execute(
            "SELECT id, asset_tag, description, wo_type, interval_days, meter, interval_meter, last_done_at "
            "FROM pm_plans WHERE asset_tag = ANY(%(tags)s) ORDER BY asset_tag, id",
            {"tags": query.scope.tags},
        ).fetchall()
        return {"rows": rows}
    if query.operation == "meter":
        rows = conn.execute(
            """SELECT r.asset_tag, r.name, m.unit, count(*) AS readings,
                      (array_agg(r.value ORDER BY r.read_at))[1] AS first_value, min(r.read_at) AS first_at,
                      (array_agg(r.value ORDER BY r.read_at DESC))[1] AS last_value, max(r.read_at) AS last_at
               FROM meter_readings r LEFT JOIN meters m ON m.asset_tag = r.asset_tag AND m.name = r.name
               WHERE r.asset_tag = ANY(%(tags)s) GROUP BY r.asset_tag, r.name, m.unit ORDER BY 1, 2""",
            {"tags": query.scope.tags},
        ).fetchall()
        return {"rows": rows}
    if query.operation == "parts_used":
        rows = conn.execute(
            f"""SELECT p.part_number AS key, sum(p.quantity) AS n, array_agg(DISTINCT w.number) AS numbers
                FROM work_order_parts p JOIN work_orders w ON w.number = p.number
                JOIN assets a ON a.tag = w.asset_tag WHERE {" AND ".join(where) or "true"}
                GROUP BY p.part_number ORDER BY n DESC, key""",
            params,
        ).fetchall()
        return {"rows": _top(rows, query.limit or 1)}
    if query.operation in ("top", "group"):
        key = GROUPS[query.group_by or "asset_tag"]
        rows = conn.execute(
            f"""SELECT {key} AS key, count(*) AS n, array_agg(w.number ORDER BY w.number) AS numbers
                {_from([*where, f"{key} IS NOT NULL"])} GROUP BY {key} ORDER BY n DESC, key""",
            params,
        ).fetchall()
        return {"rows": _top(rows, query.limit) if query.operation == "top" else rows}
    if query.operation == "percentage":
        whole = conn.execute(f"SELECT count(*) AS n {_from(where)}", params).fetchone()["n"]
        part_where, part_params = _merged(query.scope, query.part or WorkOrderFilter())
        part = _numbers(conn, part_where, part_params)
        return {"whole": whole, "part": len(part), "numbers": part}
    if query.operation in ("sum", "average"):
        measure = MEASURES[query.measure]
        row = conn.execute(
            f"""SELECT sum({measure}) AS total, avg({measure}) AS mean, count({measure}) AS measured, count(*) AS n,
                       array_agg(w.number ORDER BY w.number) FILTER (WHERE {measure} IS NOT NULL) AS numbers
                {_from(where)}""",
            params,
        ).fetchone()
        return {**row, "numbers": row["numbers"] or []}
    if query.operation == "latest":
        rows = conn.execute(
            f"""SELECT w.number, w.asset_tag, w.wo_type, w.status, w.description, w.reported_at, w.finished_at
                {_from(where)} ORDER BY coalesce(w.finished_at, w.reported_at) DESC, w.number DESC LIMIT 1""",
            params,
        ).fetchall()
        return {"rows": rows}
    rows = conn.execute(
        f"""SELECT w.number, w.asset_tag, w.wo_type, w.status, w.description, w.reported_at
            {_from(where)} ORDER BY w.reported_at DESC NULLS LAST, w.number""",
        params,
    ).fetchall()
    return {"rows": rows, "count": len(rows)}


def _numbers(conn: psycopg.Connection, where: list[str], params: dict[str, Any]) -> list[str]:
    return [r["number"] for r in conn.execute(f"SELECT w.number {_from(where)} ORDER BY w.number", params)]


def _top(rows: list[dict[str, Any]], limit: int | None) -> list[dict[str, Any]]:
    """The first ``limit`` rows by count, with every row tied with the last of them."""
    if not limit or len(rows) <= limit:
        return rows
    cut = rows[limit - 1]["n"]
    return [r for r in rows if r["n"] >= cut]


SYSTEMS = "SELECT DISTINCT location FROM assets WHERE location IS NOT NULL ORDER BY 1"
COMPONENTS = "SELECT DISTINCT component FROM work_orders WHERE component IS NOT NULL ORDER BY 1"


def vocabulary(conn: psycopg.Connection) -> dict[str, list[str]]:
    """What the parser matches a question against: the CMMS's tags, systems, failure codes in use
    (with their descriptions), components and part numbers."""
    codes = conn.execute(
        """SELECT f.code, f.description FROM failure_codes f
           WHERE EXISTS (SELECT 1 FROM work_orders w WHERE w.problem_code = f.code) ORDER BY f.code"""
    ).fetchall()
    return {
        "tags": [r["tag"] for r in conn.execute("SELECT tag FROM assets ORDER BY tag")],
        "systems": [r["location"] for r in conn.execute(SYSTEMS)],
        "codes": [f"{r['code']}\t{r['description']}" for r in codes],
        "components": [r["component"] for r in conn.execute(COMPONENTS)],
    }
