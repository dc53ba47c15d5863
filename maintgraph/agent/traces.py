"""Traces: every turn of every conversation, in Postgres, exportable as JSONL for replay.

A :class:`Trace` is built from the state a turn ended in (:func:`trace_of`), so what is
recorded is what the agent actually did: the route, each tool call with its arguments, result
ids and time, the evidence, the model and adapter with their versions, the guards' decisions,
the answer, per-node timings and token counts. A turn that paused for approval is recorded as
``awaiting_approval``; its resumption is a turn of its own.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from psycopg.types.json import Jsonb
from pydantic import BaseModel, Field
from pydantic_core import to_jsonable_python

from maintgraph.errors import MaintgraphError
from maintgraph.pg import open_pool

Status = Literal["answered", "awaiting_approval", "failed"]


class Trace(BaseModel):
    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    thread_id: str
    started_at: datetime
    seconds: float
    status: Status
    question: str
    intent: str | None = None
    route: dict[str, Any] = {}
    tool_calls: list[dict[str, Any]] = []
    evidence_ids: list[str] = []
    model: dict[str, Any] = {}
    guards: list[dict[str, Any]] = []
    answer: str | None = None
    cited: list[str] = []
    timings: dict[str, float] = {}
    tokens: dict[str, int] = {}


def first_of_each(evidence: list[Any]) -> dict[str, Any]:
    """id -> the first item retrieved with it, as the answer used it: two tools can return one
    fact under different titles (a fitted part, the neighbourhood), and the title orders the answer.
    A replay answers each recorded call with these, so it orders the answer the same way."""
    first: dict[str, Any] = {}
    for item in evidence:
        first.setdefault(item.id, item)
    return first


def trace_of(values: dict[str, Any], thread_id: str, started_at: datetime, seconds: float, status: Status,
             versions: dict[str, Any], decision: dict[str, Any] | None = None) -> Trace:  # fmt: skip
    """The trace of a turn from the state it ended in. A resumed turn (``decision``: a person's
    answer to a paused draft) records the decision and its outcome only: the retrieval belongs
    to the turn that paused, which has its own trace."""
    if decision is not None:
        outcome = {"decision": {k: v for k, v in decision.items() if k != "token"}}  # the token is a credential
        if values.get("submitted"):
            outcome["submitted"] = values["submitted"]
        timings = {k: v for k, v in (values.get("timings") or {}).items() if k in ("approval", "remember")}
        return Trace(thread_id=thread_id, started_at=started_at, seconds=seconds, status=status,
                     question=values.get("question", ""), intent="work_order", route=outcome, model=versions,
                     answer=values.get("answer"), cited=values.get("cited") or [], timings=timings)  # fmt: skip
    seen = values.get("understanding")
    evidence = first_of_each(values.get("evidence") or [])
    # Each result with its record (``fields``): a replay composes the answer from the same facts.
    calls = [{**asdict(r), "results": [{"id": i, "title": evidence[i].title, "text": evidence[i].text,
                                        **({"fields": to_jsonable_python(evidence[i].fields)} if evidence[i].fields
                                           else {})}
                                       for i in r.evidence_ids if i in evidence]}
             for r in values.get("records") or []]  # fmt: skip
    dropped = set(values.get("dropped") or [])
    return Trace(
        thread_id=thread_id, started_at=started_at, seconds=seconds, status=status,
        question=values.get("question", ""), intent=seen.intent if seen and not values.get("blocked") else None,
        route={**(values.get("route") or {}), "dropped": sorted(dropped),
               **({"work_order": values["work_order"]} if values.get("work_order") else {}),
               **({"submitted": values["submitted"]} if values.get("submitted") else {})},
        tool_calls=calls, evidence_ids=[i for i in evidence if i not in dropped], model=versions,
        guards=values.get("guards") or [], answer=values.get("answer"), cited=values.get("cited") or [],
        timings=values.get("timings") or {}, tokens=values.get("tokens") or {},
    )  # fmt: skip


COLUMNS = list(Trace.model_fields)
FOR_THREAD = "(%(thread)s::text IS NULL OR thread_id = %(thread)s)"
JSON_COLUMNS = {"route", "tool_calls", "model", "guards", "timings", "tokens"}


class TraceStore:
    def __init__(self, conninfo: str, connect_timeout_s: int = 5) -> None:
        self.pool = open_pool(conninfo, "trace store (Postgres)", connect_timeout_s)

    def close(self) -> None:
        self.pool.close()

    def record(self, trace: Trace) -> None:
        row = trace.model_dump()
        values = [Jsonb(row[c]) if c in JSON_COLUMNS else row[c] for c in COLUMNS]
        with self.pool.connection() as conn:
            conn.execute(
                f"INSERT INTO agent_traces ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))})", values
            )

    def list(self, thread_id: str | None = None, limit: int = 20) -> list[Trace]:
        with self.pool.connection() as conn:
            rows = conn.execute(
                f"SELECT {', '.join(COLUMNS)} FROM agent_traces WHERE {FOR_THREAD} ORDER BY started_at DESC "
                "LIMIT %(limit)s",
                {"thread": thread_id, "limit": limit},
            ).fetchall()
        return [Trace.model_validate({**row, "id": str(row["id"])}) for row in rows]

    def since(self, since: datetime | None = None, thread_id: str | None = None, limit: int = 200) -> list[Trace]:
        """Traces oldest first, from ``since`` on: the order a replay asks them in."""
        with self.pool.connection() as conn:
            rows = conn.execute(
                f"SELECT {', '.join(COLUMNS)} FROM agent_traces WHERE {FOR_THREAD} "
                "AND (%(since)s::timestamptz IS NULL OR started_at >= %(since)s) ORDER BY started_at LIMIT %(limit)s",
                {"thread": thread_id, "since": since, "limit": limit},
            ).fetchall()
        return [Trace.model_validate({**row, "id": str(row["id"])}) for row in rows]

    def get(self, trace_id: str, threads: str | None = None) -> Trace:
        """The trace ``trace_id``; with ``threads``, only if its conversation's id starts with it
        (a face's namespace for one client: ``api/<key id>/``), and as if there were none otherwise."""
        try:
            uuid.UUID(trace_id)
        except ValueError:
            raise MaintgraphError(f"{trace_id!r} is not a trace id (a UUID)") from None
        with self.pool.connection() as conn:
            row = conn.execute(
                f"SELECT {', '.join(COLUMNS)} FROM agent_traces WHERE id = %s "
                "AND (%s::text IS NULL OR starts_with(thread_id, %s))",
                [trace_id, threads, threads],
            ).fetchone()
        if row is None:
            raise MaintgraphError(f"no trace {trace_id}")
        return Trace.model_validate({**row, "id": str(row["id"])})

    def export_jsonl(self, path: Path, thread_id: str | None = None, since: datetime | None = None) -> int:
        """Write the traces (oldest first) as one JSON object per line; written whole or not at all."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        count = 0
        try:
            count = self._write(partial, thread_id, since)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        os.replace(partial, path)
        return count

    def _write(self, partial: Path, thread_id: str | None, since: datetime | None) -> int:
        count = 0
        with self.pool.connection() as conn, partial.open("w", encoding="utf-8") as handle:
            cursor = conn.cursor(name="trace_export")  # server-side: a year of traces need not fit in memory
            cursor.execute(
                f"SELECT {', '.join(COLUMNS)} FROM agent_traces WHERE {FOR_THREAD} "
                "AND (%(since)s::timestamptz IS NULL OR started_at >= %(since)s) ORDER BY started_at",
                {"thread": thread_id, "since": since},
            )
            for row in cursor:
                trace = Trace.model_validate({**row, "id": str(row["id"])})
                handle.write(json.dumps(trace.model_dump(mode="json"), ensure_ascii=False) + "\n")
                count += 1
        return count


class Review(BaseModel):
    trace_id: str
    verdict: Literal["approved", "rejected"]
    answer: str | None = None  # the reviewer's answer, when the recorded one needed correcting
    reviewer: str
    reviewed_at: datetime | None = None


class ReviewStore:
    """People's verdicts on recorded answers (the table ``trace_reviews``)."""

    def __init__(self, traces: TraceStore) -> None:
        self.traces = traces

    def review(self, trace_id: str, approved: bool, reviewer: str, answer: str | None = None) -> Review:
        trace = self.traces.get(trace_id)  # names a bad or unknown id
        if not reviewer.strip():
            raise MaintgraphError("say who reviewed it: --reviewer NAME")
        if trace.status != "answered" or not trace.answer:
            raise MaintgraphError(f"trace {trace_id} has no answer to review (status {trace.status})")
        if answer is not None and not answer.strip():
            raise MaintgraphError("the corrected answer is empty")
        verdict = "approved" if approved else "rejected"
        with self.traces.pool.connection() as conn:
            conn.execute(
                "INSERT INTO trace_reviews (trace_id, verdict, answer, reviewer) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (trace_id) DO UPDATE SET verdict = EXCLUDED.verdict, answer = EXCLUDED.answer, "
                "reviewer = EXCLUDED.reviewer, reviewed_at = now()",
                [trace_id, verdict, answer, reviewer.strip()],
            )
        return Review(trace_id=trace_id, verdict=verdict, answer=answer, reviewer=reviewer.strip())

    def approved(self, since: datetime | None = None) -> list[tuple[Trace, Review]]:
        """Approved answers, oldest first, each with its trace."""
        with self.traces.pool.connection() as conn:
            rows = conn.execute(
                "SELECT trace_id, verdict, answer, reviewer, reviewed_at FROM trace_reviews WHERE verdict = 'approved' "
                "AND (%(since)s::timestamptz IS NULL OR reviewed_at >= %(since)s) ORDER BY reviewed_at",
                {"since": since},
            ).fetchall()
        return [(self.traces.get(str(r["trace_id"])), Review.model_validate({**r, "trace_id": str(r["trace_id"])}))
                for r in rows]  # fmt: skip


def now() -> datetime:
    return datetime.now(UTC)
