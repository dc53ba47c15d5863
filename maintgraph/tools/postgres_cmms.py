"""The CMMS in the product's own Postgres (tables from migration 0003).

Every write is one transaction. A status change locks the work order's row before it checks
the lifecycle; a reservation is one conditional UPDATE of the stock row (``reserved +
quantity <= quantity_on_hand``), so concurrent reservations of the last part never both
succeed.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg

from maintgraph.errors import ApprovalRefused, CMMSError, NotFound
from maintgraph.pg import LazyPool
from maintgraph.tools.cmms import (
    Asset,
    CMMSBackend,
    Event,
    FailureCode,
    PMPlan,
    Reservation,
    StockLevel,
    WorkOrder,
    WorkOrderDraft,
    WorkOrderQuery,
    transition_error,
)

WO_COLUMNS = (
    "number, asset_tag, wo_type, priority, status, problem_code, cause_code, remedy_code, description, long_text, "
    "labour_hours, reported_at, scheduled_at, started_at, finished_at"
)


class PostgresCMMS(CMMSBackend):
    def __init__(self, conninfo: str, connect_timeout_s: int = 5) -> None:
        self._pool = LazyPool(conninfo, "CMMS database", connect_timeout_s)

    def connect(self) -> AbstractContextManager[psycopg.Connection]:
        return self._pool.connection()

    def close(self) -> None:
        self._pool.close()

    # -- reads ------------------------------------------------------------------------------------
    def _one(self, what: str, query: str, params: tuple[Any, ...]) -> dict[str, Any]:
        """The row ``query`` finds, or NotFound: ``what`` is not in the CMMS."""
        with self.connect() as conn:
            row = conn.execute(query, params).fetchone()
        if row is None:
            raise NotFound(f"{what} is not in the CMMS")
        return row

    def asset(self, tag: str) -> Asset:
        query = "SELECT tag, name, class_code, location, criticality, status FROM assets WHERE tag = %s"
        return Asset(**self._one(f"asset {tag!r}", query, (tag,)))

    def work_order(self, number: str) -> WorkOrder:
        with self.connect() as conn:
            return self._work_order(conn, number)

    def _work_order(self, conn: psycopg.Connection, number: str, lock: bool = False) -> WorkOrder:
        row = conn.execute(
            f"SELECT {WO_COLUMNS} FROM work_orders WHERE number = %s{' FOR UPDATE' if lock else ''}", (number,)
        ).fetchone()
        if row is None:
            raise NotFound(f"work order {number!r} does not exist")
        parts = conn.execute("SELECT part_number, quantity FROM work_order_parts WHERE number = %s", (number,))
        return WorkOrder(**row, parts_used=[(p["part_number"], p["quantity"]) for p in parts])

    def search_work_orders(self, query: WorkOrderQuery) -> list[WorkOrder]:
        where, params = ["true"], {}
        if query.asset_tag:
            where.append("asset_tag = %(asset)s")
            params["asset"] = query.asset_tag
        when = "coalesce(reported_at, finished_at)"
        if query.date_from:
            where.append(f"{when} >= %(date_from)s")
            params["date_from"] = query.date_from
        if query.date_to:
            where.append(f"{when} < %(date_to)s")
            params["date_to"] = query.date_to
        if query.wo_types:
            where.append("wo_type = ANY(%(types)s)")
            params["types"] = list(query.wo_types)
        if query.statuses:
            where.append("status = ANY(%(statuses)s)")
            params["statuses"] = list(query.statuses)
        if query.failure_code:
            # A primary code matches the work orders coded with any of its secondary codes.
            where.append(
                "EXISTS (SELECT 1 FROM failure_codes f WHERE (f.code = %(code)s OR f.parent = %(code)s) "
                "AND f.code IN (problem_code, cause_code, remedy_code))"
            )
            params["code"] = query.failure_code
        if query.text:
            where.append("tsv @@ websearch_to_tsquery('english', %(text)s)")
            params["text"] = query.text
        params["limit"] = query.limit
        with self.connect() as conn:
            rows = conn.execute(
                f"SELECT {WO_COLUMNS} FROM work_orders WHERE {' AND '.join(where)} "
                f"ORDER BY {when} DESC NULLS LAST, number LIMIT %(limit)s",
                params,
            ).fetchall()
        return [WorkOrder(**row) for row in rows]

    def failure_code(self, code: str) -> FailureCode:
        query = "SELECT code, kind, description, parent FROM failure_codes WHERE code = %s"
        return FailureCode(**self._one(f"failure code {code!r}", query, (code,)))

    def stock(self, part_number: str) -> list[StockLevel]:
        with self.connect() as conn:
            if conn.execute("SELECT 1 FROM parts WHERE part_number = %s", (part_number,)).fetchone() is None:
                raise NotFound(f"part {part_number!r} is not in the CMMS")
            rows = conn.execute(
                """SELECT s.part_number, p.name, s.storeroom, s.bin, s.quantity_on_hand AS on_hand, s.reserved,
                          s.quantity_on_hand - s.reserved AS available, NULL AS alternate_for, 0 AS rank
                   FROM stock s JOIN parts p USING (part_number) WHERE s.part_number = %(part)s
                   UNION ALL
                   SELECT s.part_number, p.name, s.storeroom, s.bin, s.quantity_on_hand, s.reserved,
                          s.quantity_on_hand - s.reserved, %(part)s, 1
                   FROM part_alternates a JOIN stock s ON s.part_number = a.alternate
                   JOIN parts p ON p.part_number = s.part_number WHERE a.part_number = %(part)s
                   ORDER BY rank, available DESC, storeroom""",
                {"part": part_number},
            ).fetchall()
        return [StockLevel(**{k: v for k, v in row.items() if k != "rank"}) for row in rows]

    def pm_plans(self, asset_tag: str) -> list[PMPlan]:
        self.asset(asset_tag)
        with self.connect() as conn:
            rows = conn.execute(
                """SELECT p.*, (SELECT value FROM meter_readings r WHERE r.asset_tag = p.asset_tag AND r.name = p.meter
                                ORDER BY read_at DESC LIMIT 1) AS current_meter
                   FROM pm_plans p WHERE asset_tag = %s ORDER BY id""",
                (asset_tag,),
            ).fetchall()
        return [_pm_plan(row) for row in rows]

    def events(
        self, asset_tag: str, date_from: datetime | None, date_to: datetime | None, groups: list[str]
    ) -> list[Event]:
        self.asset(asset_tag)
        with self.connect() as conn:
            rows = conn.execute(
                """SELECT id, event_group, category, event_type, description, asset_tag, event_time FROM cmms_events
                   WHERE asset_tag = %(asset)s AND (%(since)s::timestamptz IS NULL OR event_time >= %(since)s)
                   AND (%(until)s::timestamptz IS NULL OR event_time < %(until)s)
                   AND (cardinality(%(groups)s::text[]) = 0 OR event_group = ANY(%(groups)s))
                   ORDER BY event_time, id""",
                {"asset": asset_tag, "since": date_from, "until": date_to, "groups": groups},
            ).fetchall()
        return [Event(**row) for row in rows]

    # -- writes ---------------------------------------------------------------------------------
    def create_work_order(self, draft: WorkOrderDraft, approval_ref: str, approved_by: str | None = None) -> WorkOrder:
        if not approval_ref or not approval_ref.strip():
            raise CMMSError(f"work order for {draft.asset_tag} not created: submitting needs a human approval")
        self.asset(draft.asset_tag)
        if draft.problem_code:
            self.failure_code(draft.problem_code)
        with self.connect() as conn, conn.transaction():
            # Submissions of one request wait for each other: the second finds the first's work order.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"maintgraph-approval/{approval_ref}",))
            earlier = conn.execute("SELECT number FROM work_orders WHERE approval_ref = %s", (approval_ref,)).fetchone()
            if earlier:
                return _same_request(self._work_order(conn, earlier["number"]), draft, approval_ref)
            number = conn.execute("SELECT 'WO-' || nextval('work_order_numbers') AS n").fetchone()["n"]
            conn.execute(
                """INSERT INTO work_orders (number, asset_tag, wo_type, priority, status, problem_code,
                       description, long_text, reported_at, approval_ref, approved_by, source)
                   VALUES (%s, %s, %s, %s, 'WAPPR', %s, %s, %s, now(), %s, %s, 'maintgraph')""",
                (number, draft.asset_tag, draft.wo_type, draft.priority, draft.problem_code, draft.description,
                 draft.long_text, approval_ref, approved_by),
            )  # fmt: skip
            by = f", approved by {approved_by}" if approved_by else ""
            conn.execute(
                "INSERT INTO work_order_status_history (number, to_status, memo) VALUES (%s, 'WAPPR', %s)",
                (number, f"submitted{by} (approval {approval_ref})"),
            )
            return self._work_order(conn, number)

    def change_status(self, number: str, status: str, memo: str | None = None) -> WorkOrder:
        with self.connect() as conn, conn.transaction():
            current = self._work_order(conn, number, lock=True)  # the row stays locked until commit
            problem = transition_error(number, current.status, status)
            if problem:
                raise CMMSError(problem)
            stamps = {"INPRG": "started_at = coalesce(started_at, now()), ",
                      "COMP": "finished_at = coalesce(finished_at, now()), "}.get(status, "")  # fmt: skip
            conn.execute(f"UPDATE work_orders SET {stamps}status = %s WHERE number = %s", (status, number))
            if status in ("COMP", "CLOSE", "CAN"):
                self._release_reservations(conn, number)
            conn.execute(
                "INSERT INTO work_order_status_history (number, from_status, to_status, memo) VALUES (%s, %s, %s, %s)",
                (number, current.status, status, memo),
            )
            return self._work_order(conn, number)

    def reserve(self, part_number: str, storeroom: str, quantity: Decimal, work_order: str) -> Reservation:
        quantity = Decimal(quantity)
        if quantity <= 0:
            raise CMMSError(f"reservation of {part_number}: quantity must be positive, not {quantity}")
        with self.connect() as conn, conn.transaction():
            # Locked, so that a cancel cannot commit between this check and the reservation.
            wo = self._work_order(conn, work_order, lock=True)
            if wo.status in ("COMP", "CLOSE", "CAN"):
                raise CMMSError(f"work order {work_order} is {wo.status}: parts cannot be reserved for it")
            updated = conn.execute(
                """UPDATE stock SET reserved = reserved + %(q)s
                   WHERE part_number = %(part)s AND storeroom = %(room)s AND reserved + %(q)s <= quantity_on_hand
                   RETURNING quantity_on_hand - reserved AS left""",
                {"q": quantity, "part": part_number, "room": storeroom},
            ).fetchone()
            if updated is None:
                row = conn.execute(
                    "SELECT quantity_on_hand - reserved AS available FROM stock "
                    "WHERE part_number = %s AND storeroom = %s",
                    (part_number, storeroom),
                ).fetchone()
                if row is None:
                    raise NotFound(f"part {part_number!r} is not stocked in storeroom {storeroom!r}")
                raise CMMSError(f"cannot reserve {quantity} of {part_number} in {storeroom}: only "
                                f"{row['available']} available")  # fmt: skip
            reservation = conn.execute(
                """INSERT INTO reservations (part_number, storeroom, work_order, quantity) VALUES (%s, %s, %s, %s)
                   RETURNING id, part_number, storeroom, work_order, quantity""",
                (part_number, storeroom, work_order, quantity),
            ).fetchone()
        return Reservation(**reservation)

    @staticmethod
    def _release_reservations(conn: psycopg.Connection, number: str) -> None:
        release_reservations(conn, [number])


def release_reservations(conn: psycopg.Connection, numbers: list[str]) -> int:
    """Finished or cancelled work orders no longer hold stock: their reservations go back. Answers
    how many stock rows were released."""
    return conn.execute(
        """WITH gone AS (DELETE FROM reservations WHERE work_order = ANY(%s)
                         RETURNING part_number, storeroom, quantity)
           UPDATE stock s SET reserved = s.reserved - g.total
           FROM (SELECT part_number, storeroom, sum(quantity) AS total FROM gone GROUP BY 1, 2) g
           WHERE s.part_number = g.part_number AND s.storeroom = g.storeroom""",
        (list(numbers),),
    ).rowcount


def _same_request(order: WorkOrder, draft: WorkOrderDraft, approval_ref: str) -> WorkOrder:
    """The work order an approval reference already made, when ``draft`` is what it was made from."""
    made_from = (order.asset_tag, order.wo_type, order.priority, order.problem_code, order.description, order.long_text)
    if made_from != (draft.asset_tag, draft.wo_type, draft.priority, draft.problem_code, draft.description,
                     draft.long_text):  # fmt: skip
        raise ApprovalRefused(f"approval {approval_ref} was already used for work order {order.number} "
                        f"({order.asset_tag}): a different draft needs its own approval")  # fmt: skip
    return order


def _pm_plan(row: dict[str, Any]) -> PMPlan:
    next_at = row["last_done_at"] + timedelta(days=row["interval_days"]) if (
        row["last_done_at"] and row["interval_days"]
    ) else None  # fmt: skip
    next_meter = (
        row["last_done_meter"] + row["interval_meter"]
        if row["last_done_meter"] is not None and row["interval_meter"]
        else None
    )
    return PMPlan(
        id=row["id"], asset_tag=row["asset_tag"], description=row["description"],
        interval_days=row["interval_days"], meter=row["meter"], interval_meter=row["interval_meter"],
        last_done_at=row["last_done_at"], next_due_at=next_at, last_done_meter=row["last_done_meter"],
        next_due_meter=next_meter,
    )  # fmt: skip
