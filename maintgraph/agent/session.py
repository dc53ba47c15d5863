"""The assistant as the faces use it: conversations, streaming, approvals, traces.

:class:`Assistant` wraps the compiled graph with its Postgres checkpointer (conversations and
paused approvals survive a restart) and its trace store. A turn is a stream of
:class:`Event` (``node`` when a step finishes, ``token`` as the model writes, then one
``result``); :meth:`Assistant.ask` is the same turn, consumed. A turn that drafts a work order
ends with ``result.awaiting`` set: the face shows the draft, asks a person, and calls
:meth:`Assistant.decide`, which mints the approval token for exactly that draft and resumes.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from langgraph.types import Command

from maintgraph.agent.context import AgentContext
from maintgraph.agent.graph import build_agent
from maintgraph.agent.guards import NoGuards
from maintgraph.agent.state import Turn, new_turn
from maintgraph.agent.synthesis import prompt_chars
from maintgraph.agent.traces import Status, TraceStore, first_of_each, now, trace_of
from maintgraph.agent.work_order import Decision
from maintgraph.errors import ConversationBusy, MaintgraphError

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000
CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tab and line breaks are allowed

# The types a checkpoint may hold besides JSON: LangGraph refuses to load unlisted classes.
CHECKPOINT_TYPES = [
    ("maintgraph.retrieval.base", "Evidence"),
    ("maintgraph.agent.understand", "Understanding"),
    ("maintgraph.graph.linking", "Candidate"),
    ("maintgraph.graph.linking", "Mention"),
    ("maintgraph.retrieval.base", "Call"),
    ("maintgraph.retrieval.base", "ToolCallRecord"),
]


@dataclass
class Event:
    kind: Literal["node", "token", "result"]
    name: str = ""  # the node, for "node"
    text: str = ""  # the token, for "token"
    result: TurnResult | None = None


@dataclass
class TurnResult:
    thread_id: str
    question: str
    answer: str
    cited: list[dict[str, str]]  # id, title, text of each cited evidence, in citation order
    route: dict[str, Any]
    timings: dict[str, float]
    awaiting: dict[str, Any] | None = None  # a work-order draft waiting for a person's decision
    submitted: dict[str, Any] | None = None
    trace_id: str | None = None
    evidence: list[dict[str, str]] = field(default_factory=list)
    tool_calls: list[str] = field(default_factory=list)  # "source.name(arg='v')", in the order made
    tokens: dict[str, int] = field(default_factory=dict)
    guards: list[dict[str, Any]] = field(default_factory=list)  # each guard's decision (maintgraph.guardrails)


class Assistant:
    def __init__(self, context: AgentContext, checkpointer: Any, traces: TraceStore | None = None,
                 approvals: Any = None, closers: list[Any] | None = None, locks: Any = None,
                 audit: Any = None) -> None:  # fmt: skip
        self.context = context
        self.locks = locks  # a Postgres pool for the per-conversation decision lock
        self.graph = build_agent(checkpointer)
        self.traces = traces
        self.audit = audit  # the guard audit log (maintgraph.guardrails.audit.AuditLog)
        self.approvals = approvals
        self._closers = closers or []

    def close(self) -> None:
        for closer in reversed(self._closers):
            closer()

    # -- turns --------------------------------------------------------------------------------------
    def turn(self, question: str, thread_id: str) -> Iterator[Event]:
        if self.pending(thread_id):
            raise MaintgraphError(
                f"conversation {thread_id} is waiting for a decision on a work-order draft; approve or reject it first"
            )
        question = checked_question(question)
        yield from self._run(new_turn(question), thread_id, question)

    def decide(self, thread_id: str, approved: bool, by: str) -> Iterator[Event]:
        """Resume a paused turn with a person's decision on the draft it shows. Two decisions on
        one draft (two windows, two people) are taken one after the other: the second finds
        nothing waiting."""
        if self.locks is None:
            yield from self._decide(thread_id, approved, by)
            return
        # The lock lives on a connection of its own small pool (never the conversation memory's,
        # which the decision itself needs), and is tried, not waited for: a decision waiting on
        # another holds no connection, and gives up after a while instead of hanging.
        lock, wait_s, deadline = f"maintgraph-decision/{thread_id}", 0.05, time.monotonic() + 60
        while True:
            with self.locks.connection() as conn:
                if conn.execute("SELECT pg_try_advisory_lock(hashtext(%s)) AS held", [lock]).fetchone()["held"]:
                    try:
                        yield from self._decide(thread_id, approved, by)
                    finally:
                        conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", [lock])
                    return
            if time.monotonic() > deadline:
                raise ConversationBusy(f"conversation {thread_id} has another decision on its draft still being "
                                       "made; try again shortly")  # fmt: skip
            time.sleep(wait_s)
            wait_s = min(wait_s * 2, 0.5)

    def _decide(self, thread_id: str, approved: bool, by: str) -> Iterator[Event]:
        from maintgraph.tools.cmms import WorkOrderDraft

        snapshot = self.graph.get_state({"configurable": {"thread_id": thread_id}})
        if not snapshot.interrupts:
            raise MaintgraphError(f"conversation {thread_id} has no work-order draft waiting for a decision")
        paused = snapshot.interrupts[0]
        if not by.strip():
            raise MaintgraphError("say who decides: the approver's name is recorded with the work order")
        # The nonce names this paused run and is the whole approval reference (the approver is
        # recorded beside it), so every approval of the run gives the same reference: two windows,
        # a retry after a timeout, or another person after a crash between the CMMS commit and the
        # checkpoint all get the one work order the first submission made.
        nonce = hashlib.sha256(f"{thread_id}/{paused.id}".encode()).hexdigest()[:16]
        draft = WorkOrderDraft.model_validate(paused.value["draft"])
        token = self.approvals.approve(draft, by.strip(), nonce) if approved else None
        decision = Decision(approved=approved, by=by, token=token)
        verb = "approved" if approved else "rejected"
        resume = decision.model_dump()
        yield from self._run(Command(resume=resume), thread_id, f"({verb} by {by})", decision=resume)

    def ask(self, question: str, thread_id: str) -> TurnResult:
        return _result(self.turn(question, thread_id))

    def decide_now(self, thread_id: str, approved: bool, by: str) -> TurnResult:
        return _result(self.decide(thread_id, approved, by))

    def _run(self, payload: Any, thread_id: str, question: str,
             decision: dict[str, Any] | None = None) -> Iterator[Event]:  # fmt: skip
        config = {"configurable": {"thread_id": thread_id}}
        started_at, started = now(), time.perf_counter()
        status: Status = "failed"
        snapshot = None
        try:
            stream = self.graph.stream(payload, config, context=self.context, stream_mode=["updates", "custom"])
            for mode, chunk in stream:
                if mode == "custom" and "token" in chunk:
                    yield Event("token", text=chunk["token"])
                elif mode == "updates":
                    for name in chunk:
                        if not name.startswith("__"):
                            yield Event("node", name=name)
            snapshot = self.graph.get_state(config)
            awaiting = snapshot.interrupts[0].value if snapshot.interrupts else None
            status = "awaiting_approval" if awaiting else "answered"
            result = self._result(snapshot.values, thread_id, awaiting)
        finally:
            try:
                values = (snapshot or self.graph.get_state(config)).values
            except Exception:  # noqa: BLE001 - the checkpointer itself failed: trace what is known
                values = {}
            values = {**values, "question": values.get("question") or question}
            seconds = time.perf_counter() - started
            trace = trace_of(values, thread_id, started_at, seconds, status, self.context.current_versions, decision)
            if self.traces is not None:
                try:
                    self.traces.record(trace)
                except Exception as exc:  # noqa: BLE001 - a trace store hiccup must not lose the answer
                    log.error("trace %s not recorded: %s", trace.id, exc)
            if self.audit is not None and decision is None:  # a resumed turn's guards were audited when it paused
                try:
                    self.audit.record(trace.guards, origin="agent", ref=trace.id)
                except Exception as exc:  # noqa: BLE001 - nor an audit log hiccup
                    log.error("guard decisions of trace %s not audited: %s", trace.id, exc)
        result.trace_id = trace.id
        yield Event("result", result=result)

    def _result(self, values: dict[str, Any], thread_id: str, awaiting: dict[str, Any] | None) -> TurnResult:
        evidence = first_of_each(values.get("evidence") or [])
        cited = [{"id": i, "title": evidence[i].title, "text": evidence[i].text} if i in evidence
                 else {"id": i, "title": "", "text": ""} for i in values.get("cited") or []]  # fmt: skip
        return TurnResult(
            thread_id=thread_id, question=values.get("question", ""), answer=values.get("answer", ""), cited=cited,
            route=values.get("route") or {}, timings=values.get("timings") or {}, awaiting=awaiting,
            submitted=values.get("submitted"),
            evidence=[{"id": e.id, "title": e.title, "text": e.text} for e in evidence.values()],
            tool_calls=[r.call for r in values.get("records") or []], tokens=values.get("tokens") or {},
            guards=values.get("guards") or [],
        )  # fmt: skip

    # -- the conversation ---------------------------------------------------------------------------
    def history(self, thread_id: str) -> list[Turn]:
        return list(self.graph.get_state({"configurable": {"thread_id": thread_id}}).values.get("history", []))

    def pending(self, thread_id: str) -> dict[str, Any] | None:
        snapshot = self.graph.get_state({"configurable": {"thread_id": thread_id}})
        return snapshot.interrupts[0].value if snapshot.interrupts else None


def _result(events: Iterator[Event]) -> TurnResult:
    for event in events:
        if event.kind == "result" and event.result is not None:
            return event.result
    raise MaintgraphError("the agent ended the turn without a result")


def open_checkpointer(conninfo: str, connect_timeout_s: int = 5) -> tuple[Any, Any]:
    """LangGraph's PostgresSaver on the product's Postgres, its tables created if missing:
    (saver, pool)."""
    from langgraph.checkpoint.postgres import PostgresSaver
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    from maintgraph.pg import open_pool

    pool = open_pool(conninfo, "conversation memory (Postgres)", connect_timeout_s,
                     connection_kwargs={"autocommit": True, "prepare_threshold": 0})  # fmt: skip
    saver = PostgresSaver(pool, serde=JsonPlusSerializer(allowed_msgpack_modules=CHECKPOINT_TYPES))
    saver.setup()
    return saver, pool


def open_assistant(settings: Any, use_model: bool = True, adapter: str | None = None,
                   record_traces: bool = True) -> Assistant:  # fmt: skip
    """The assistant on the configured stores: the graph, document search, the CMMS, the model
    server (unless ``use_model`` is False: answers are then the cited evidence), memory and traces.
    Synthesis goes through ``adapter`` (a registered LoRA adapter, served by vLLM under its name);
    ``""`` means the base model; None the default adapter (the promoted one, else the setting),
    looked up on every turn so that ``maintgraph adapters promote`` and ``rollback`` apply at once.
    ``record_traces`` False: questions the product asks itself (building supervision sets) are
    not users' turns and leave no trace."""
    from maintgraph.connections import pg_conninfo
    from maintgraph.graph import queries
    from maintgraph.graph.linking import EntityLinker
    from maintgraph.graph.store import open_graph_store
    from maintgraph.guardrails.audit import AuditLog
    from maintgraph.guardrails.guard import GuardConfig, PlantGuards
    from maintgraph.llm.client import LLMClient
    from maintgraph.pg import open_pool
    from maintgraph.retrieval.base import Backends
    from maintgraph.retrieval.community_reports import ReportSearch
    from maintgraph.retrieval.documents import DocumentIndex
    from maintgraph.retrieval.registry import build_retrievers
    from maintgraph.runtime import settle_heap
    from maintgraph.search.embeddings import build_embedder
    from maintgraph.search.graphrag_vectors import entity_index, nearest
    from maintgraph.search.store import DocumentStore
    from maintgraph.tools.cmms_tools import Approvals, CMMSTools, open_backend

    conninfo = pg_conninfo(settings)
    graph = open_graph_store(settings)
    documents = DocumentStore(conninfo, settings.connect_timeout_s)
    embedder = build_embedder(settings)
    index = DocumentIndex(documents, embedder, tuple(settings.search_privacy_classes),
                          reports_k=settings.graphrag_global_reports)  # fmt: skip
    llm = LLMClient(settings) if use_model else None
    model = None if adapter is None else adapter or settings.llm_model
    entities = entity_index(conninfo, embedder, settings.connect_timeout_s)
    near = lambda text, among, k: nearest(entities, embedder, text, among, k)  # noqa: E731 - the entity index
    reports = ReportSearch(index.reports, llm, model, nearest_assets=near, followups=settings.graphrag_followups)
    approvals = Approvals.for_data_dir(settings.data_dir)
    cmms = CMMSTools(open_backend(settings), approvals)
    saver, pool = open_checkpointer(conninfo, settings.connect_timeout_s)
    # Decision locks on a pool of their own: a decision holds its lock's connection while it runs
    # on the memory's pool, so sharing one pool could leave the decisions nothing to run on.
    locks = open_pool(conninfo, "decision locks (Postgres)", settings.connect_timeout_s,
                      connection_kwargs={"autocommit": True, "application_name": "maintgraph-locks"})  # fmt: skip
    traces = TraceStore(conninfo, settings.connect_timeout_s)
    audit = AuditLog(conninfo, settings.connect_timeout_s)
    guards: Any = NoGuards()
    if settings.guard_enabled:
        guards = PlantGuards(GuardConfig.from_settings(settings).allowing(queries.plant_names(graph)))
        guards.warm_up()  # ~15 s once (Presidio, spaCy): before the first question, not during it
    context = AgentContext(
        linker=EntityLinker.from_store(graph),
        retrievers=build_retrievers(Backends(graph=graph, documents=index, cmms=cmms, reports=reports)),
        drive_train=lambda tag: queries.drive_train(graph, tag), cmms=cmms,
        llm=llm,
        model=model,
        budget=settings.agent_tool_budget, model_routing=settings.agent_model_routing,
        prompt_chars=prompt_chars(settings.llm_max_model_len, settings.llm_answer_tokens),
        answer_tokens=settings.llm_answer_tokens,
        model_budget_s=settings.agent_model_budget_s,
        decode_priors=recorded_decode_rates(settings) if use_model else {},
        versions=model_versions(settings, adapter or None) if use_model else {"model": None}, guards=guards,
        versions_of=(lambda: default_versions(settings)) if use_model and adapter is None else None,
    )  # fmt: skip
    closers = [
        pool.close,
        locks.close,
        traces.close,
        audit.close,
        graph.close,
        documents.close,
        entities.close,
        getattr(cmms.backend, "close", lambda: None),
    ]
    assistant = Assistant(context, saver, traces if record_traces else None, approvals, closers=closers, locks=locks,
                          audit=audit)  # fmt: skip
    # What was loaded above lives as long as the process: out of the collector's full passes, or
    # one lands in ~1 graph query in 10 and sets its p95 (maintgraph.runtime; service and CLI alike).
    settle_heap()
    return assistant


def default_versions(settings: Any) -> dict[str, Any]:
    """The versions of the default model now (it follows promotions). Read when a turn's trace is
    written: a broken promotion file or registry entry is recorded, never fails the turn."""
    from maintgraph.llm.registry import ActiveAdapter

    try:
        versions = model_versions(settings, ActiveAdapter(settings).name())
        phrasing = ActiveAdapter(settings, "phrasing").name()
        if phrasing and phrasing != versions.get("adapter"):  # the composed answer rephrased by another adapter
            used = model_versions(settings, phrasing)
            versions["phrasing"] = {"adapter": used.get("adapter"), "adapter_sha256": used.get("adapter_sha256")}
        return versions
    except MaintgraphError as exc:
        log.warning("the default model's versions cannot be read: %s", exc)
        return {"model": settings.llm_model, "registered": False, "adapter": None, "error": str(exc)}


def recorded_decode_rates(settings: Any) -> dict[str, float]:
    """Each registered adapter's decode rate (tokens/s) from its evaluation run, if it has one."""
    from maintgraph.llm.registry import ModelRegistry

    rates = {}
    for spec in ModelRegistry(settings).adapters.values():
        rate = (spec.evaluation.get("adapter") or {}).get("decode_tps_p50")
        if isinstance(rate, int | float) and rate > 0:
            rates[spec.name] = float(rate)
    return rates


def model_versions(settings: Any, adapter: str | None = None) -> dict[str, Any]:
    """The model the agent calls, and the adapter if one is used, with their pinned hashes; a
    model the registry does not know (an external endpoint's) is recorded as such. An adapter
    must be registered: a typo would otherwise be answered by whatever the server makes of it."""
    from maintgraph.llm.registry import ModelRegistry

    registry = ModelRegistry(settings)
    used = registry.adapter(adapter) if adapter else None
    try:
        base = registry.model(used.base if used else settings.llm_model)
    except MaintgraphError:
        return {"model": settings.llm_model, "registered": False, "adapter": None}
    versions = {"model": base.name, "package": f"{base.package}=={base.version}", "sha256": base.sha256,
                "adapter": None}  # fmt: skip
    if used:
        versions.update(adapter=used.name, adapter_sha256=used.sha256, adapter_rank=used.rank)
    return versions


def checked_question(question: str) -> str:
    question = question.strip()
    if not question:
        raise MaintgraphError("the question is empty")
    if len(question) > MAX_QUESTION_CHARS:
        raise MaintgraphError(f"the question is {len(question)} characters long; the limit is {MAX_QUESTION_CHARS}")
    control = CONTROL_CHARACTER.search(question)
    if control:  # Postgres cannot store a NUL; no person types the others
        raise MaintgraphError(f"the question holds a control character (U+{ord(control[0]):04X}) at position "
                              f"{control.start() + 1}; remove it")  # fmt: skip
    return question
