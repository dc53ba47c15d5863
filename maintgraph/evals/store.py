"""Evaluation runs in Postgres: a run's configuration, each item's result as it is scored, and
the summary once the run is complete."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any, Literal

from psycopg.types.json import Jsonb

from maintgraph.errors import MaintgraphError
from maintgraph.pg import open_pool

Kind = Literal["eval", "replay"]
Status = Literal["running", "interrupted", "complete"]
_COMMAND = {"eval": "eval run", "replay": "trace replay"}  # what resumes each kind of run


class EvalStore:
    def __init__(self, conninfo: str, connect_timeout_s: int = 5) -> None:
        self.pool = open_pool(conninfo, "evaluation store (Postgres)", connect_timeout_s)

    def close(self) -> None:
        self.pool.close()

    def start(self, kind: Kind, config: dict[str, Any]) -> str:
        run_id = f"{kind}-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
        with self.pool.connection() as conn:
            conn.execute("INSERT INTO eval_runs (id, kind, status, config) VALUES (%s, %s, 'running', %s)",
                         [run_id, kind, Jsonb(config)])  # fmt: skip
        return run_id

    def mark(self, run_id: str, status: Status) -> None:
        with self.pool.connection() as conn:
            conn.execute("UPDATE eval_runs SET status = %s WHERE id = %s", [status, run_id])

    def finish(self, run_id: str, summary: dict[str, Any]) -> None:
        with self.pool.connection() as conn:
            conn.execute("UPDATE eval_runs SET status = 'complete', finished_at = now(), summary = %s WHERE id = %s",
                         [Jsonb(summary), run_id])  # fmt: skip

    def add(self, run_id: str, contestant: str, row: dict[str, Any]) -> None:
        with self.pool.connection() as conn:
            conn.execute(
                "INSERT INTO eval_results (run_id, contestant, set_name, item_id, result) VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT (run_id, contestant, set_name, item_id) DO UPDATE SET result = EXCLUDED.result",
                [run_id, contestant, row["set"], row["item"], Jsonb(row)],
            )

    def done(self, run_id: str) -> set[tuple[str, str, str]]:
        """(contestant, set, item) of every result already stored, less those that failed: a resumed
        run asks them again (the model server may be back)."""
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT contestant, set_name, item_id FROM eval_results WHERE run_id = %s "
                "AND result -> 'answered' ->> 'error' IS NULL",
                [run_id],
            )
            return {(r["contestant"], r["set_name"], r["item_id"]) for r in rows.fetchall()}

    def run(self, run_id: str) -> dict[str, Any]:
        with self.pool.connection() as conn:
            row = conn.execute("SELECT * FROM eval_runs WHERE id = %s", [run_id]).fetchone()
            if row is None:
                raise MaintgraphError(f"no evaluation run {run_id!r} (see `maintgraph eval list`)")
            counted = conn.execute("SELECT count(*) AS n FROM eval_results WHERE run_id = %s", [run_id]).fetchone()
        return {**row, "results": counted["n"]}

    def results(self, run_id: str, contestant: str | None = None) -> list[dict[str, Any]]:
        """Stored rows in the order they were answered."""
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT contestant, result FROM eval_results WHERE run_id = %s "
                "AND (%s::text IS NULL OR contestant = %s) ORDER BY at, set_name, item_id",
                [run_id, contestant, contestant],
            ).fetchall()
        return [{**r["result"], "contestant": r["contestant"]} for r in rows]

    def list(self, limit: int = 20, kind: Kind | None = None) -> list[dict[str, Any]]:
        with self.pool.connection() as conn:
            return conn.execute(
                "SELECT r.id, r.kind, r.status, r.started_at, r.finished_at, r.config, "
                "(SELECT count(*) FROM eval_results e WHERE e.run_id = r.id) AS results FROM eval_runs r "
                "WHERE (%s::text IS NULL OR r.kind = %s) ORDER BY r.started_at DESC LIMIT %s",
                [kind, kind, limit],
            ).fetchall()

    def complete_run(self, run_id: str) -> dict[str, Any]:
        """The run, refusing one that is not complete: its figures would be partial."""
        run = self.run(run_id)
        if run["status"] != "complete":
            raise MaintgraphError(
                f"run {run_id} is {run['status']} ({run['results']} results stored): its figures would be partial; "
                f"finish it with `maintgraph {_COMMAND[run['kind']]} --resume {run_id}`"
            )
        return run
