"""The audit log of guard decisions, in Postgres: what fired, on which span types, the action.

A decision carries span types and offsets, never the text: the log can be read by whoever
audits the guards without seeing the personal data they removed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from maintgraph.pg import open_pool


class AuditLog:
    def __init__(self, conninfo: str, connect_timeout_s: int = 5) -> None:
        self.pool = open_pool(conninfo, "guard audit log (Postgres)", connect_timeout_s)

    def close(self) -> None:
        self.pool.close()

    def record(self, decisions: Iterable[dict[str, Any]], origin: str, ref: str | None = None) -> int:
        """Write ``decisions`` (as the guards return them) for ``origin`` (agent, ingest, cli)."""
        rows = [
            (origin, ref, d["direction"], d["guard"], d["policy"], d["action"],
             sorted({f["kind"] for f in d.get("findings", [])}),
             Jsonb([{"kind": f["kind"], "start": f["start"], "end": f["end"]} for f in d.get("findings", [])]),
             d.get("ms"))
            for d in decisions if d.get("guard") in {"pii", "injection", "unsafe", "grounded", "topic"}
        ]  # fmt: skip
        if rows:
            with self.pool.connection() as conn, conn.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO guard_audit (origin, ref, direction, guard, policy, action, span_types, spans, ms) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    rows,
                )
        return len(rows)

    def query(self, since: datetime | None = None, guard: str | None = None, action: str | None = None,
              fired_only: bool = True, limit: int = 50) -> list[dict[str, Any]]:  # fmt: skip
        """The newest decisions first; by default only those where a guard fired."""
        with self.pool.connection() as conn:
            return conn.execute(
                "SELECT at, origin, ref, direction, guard, policy, action, span_types, ms FROM guard_audit "
                "WHERE (%(since)s::timestamptz IS NULL OR at >= %(since)s) "
                "AND (%(guard)s::text IS NULL OR guard = %(guard)s) "
                "AND (%(action)s::text IS NULL OR action = %(action)s) AND (NOT %(fired)s OR action <> 'passed') "
                "ORDER BY at DESC, id DESC LIMIT %(limit)s",
                {"since": since, "guard": guard, "action": action, "fired": fired_only, "limit": limit},
            ).fetchall()

    def summary(self, since: datetime | None = None) -> list[dict[str, Any]]:
        """Counts per guard, direction and action."""
        with self.pool.connection() as conn:
            return conn.execute(
                "SELECT guard, direction, action, count(*) AS n FROM guard_audit "
                "WHERE (%(since)s::timestamptz IS NULL OR at >= %(since)s) GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
                {"since": since},
            ).fetchall()
