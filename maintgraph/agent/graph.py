"""The agent as a LangGraph state machine; all wiring is in :func:`build_agent`.

::

    input_guard -> understand -> route -> retrieve (docs | graph | cmms, in parallel) -> grade
      grade -> reformulate -> retrieve -> grade      (once, when too little relevant evidence)
      grade -> synthesise -> check -> output_guard -> remember
      grade -> draft_work_order -> approval (interrupt: a person decides) -> remember
      input_guard -> refuse -> remember; understand -> unknown_asset -> remember

- ``understand`` links entities, classifies the intent and fills in what a follow-up leaves
  out from the conversation ("it"); a tag that names no asset stops at ``unknown_asset`` with
  the nearest real tags, and no model call.
- ``route`` makes the deterministic plan, asks the served model for a tool call and lets the
  router judge it (:mod:`maintgraph.agent.routing`); repeats and calls over the budget are
  skipped. One ``retrieve`` branch per source runs in parallel.
- ``synthesise`` streams the model's phrasing of the evidence; ``check`` keeps only what the
  evidence supports and puts isolation first for physical work (:mod:`.synthesis`).
- ``approval`` pauses on ``interrupt()`` with the draft; only a :class:`Decision` with a
  valid approval token submits it, and the checkpointer lets that happen in another process.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send, interrupt

from maintgraph.agent import grade as grading
from maintgraph.agent import synthesis
from maintgraph.agent.evidence import Evidence
from maintgraph.agent.guards import Guards, NoGuards
from maintgraph.agent.plan import PlannedCall, Toolbox, admit, plan, planned_call, run_calls
from maintgraph.agent.routing import model_choice
from maintgraph.agent.state import AgentState, Turn
from maintgraph.agent.understand import Understanding, in_context, understand
from maintgraph.agent.work_order import Decision, checked_draft, draft_from
from maintgraph.errors import MaintgraphError
from maintgraph.graph.linking import EntityLinker
from maintgraph.tools.cmms import WorkOrderDraft

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000
CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tab and line breaks are allowed
SOURCE_ORDER = {"doc": 0, "graph": 1, "wo": 2}


@dataclass
class AgentParts:
    """What the agent runs on; a part left as None is reported as not checked where needed."""

    linker: EntityLinker
    toolbox: Toolbox
    drive_train: Callable[[str], list[dict[str, Any]]] = lambda tag: []
    cmms: Any = None  # CMMSTools: drafting and submitting work orders
    llm: Any = None  # LLMClient
    model: str | None = None  # None: the client's default (the promoted adapter), looked up on each call
    guards: Guards = field(default_factory=NoGuards)
    budget: int = 10
    model_routing: bool = True
    global_route: bool = True  # plant-wide questions also read the community reports (GraphRAG)
    prompt_chars: int = 4800  # evidence text that fits the model's context (synthesis.prompt_chars)
    answer_tokens: int = 300  # most tokens the model writes for one answer (settings.llm_answer_tokens)
    versions: dict[str, Any] = field(default_factory=dict)  # model and adapter versions, for traces
    versions_of: Callable[[], dict[str, Any]] | None = None  # for model None: the default's versions now

    @property
    def current_versions(self) -> dict[str, Any]:
        return self.versions_of() if self.versions_of else self.versions


def _timed(name: str, node: Callable[[Any], dict[str, Any]]) -> Callable[[Any], dict[str, Any]]:
    def run(state: Any) -> dict[str, Any]:
        started = time.perf_counter()
        update = node(state)
        key = f"{name}:{state['source']}" if name == "retrieve" else name
        return {**update, "timings": {key: time.perf_counter() - started}}

    return run


def usable(state: AgentState) -> list[Evidence]:
    """The evidence gathered this turn, each id once (parallel branches and a retried search can
    return the same item), less what grading dropped."""
    dropped = set(state.get("dropped", []))
    unique = {e.id: e for e in reversed(state.get("evidence") or [])}  # the first of each id wins
    # Branches finish in any order: sources in a fixed order, each keeping its own ranking.
    return sorted((e for e in reversed(unique.values()) if e.id not in dropped), key=lambda e: SOURCE_ORDER[e.kind])


def build_agent(parts: AgentParts, checkpointer: Any = None) -> Any:
    """The compiled graph (with ``checkpointer``, conversations and approvals persist)."""

    def input_guard(state: AgentState) -> dict[str, Any]:
        verdict = parts.guards.check_input(state["question"])
        return {"question": verdict.text, "blocked": verdict.blocked, "guards": verdict.decisions}

    def refuse(state: AgentState) -> dict[str, Any]:
        return {"answer": f"I can't help with that: {state['blocked']}"}

    def drive_train(tag: str) -> list[dict[str, Any]]:
        try:
            return parts.drive_train(tag)
        except Exception:
            log.exception("drive train of %s unavailable", tag)
            return []

    def understand_node(state: AgentState) -> dict[str, Any]:
        seen = in_context(understand(state["question"], parts.linker), state.get("previous"), drive_train)
        return {"understanding": seen}

    def unknown_asset(state: AgentState) -> dict[str, Any]:
        lines = [
            f"There is no asset {word} in the asset register"
            + (f"; did you mean {', '.join(c.key for c in nearest)}?" if nearest else ".")
            for word, nearest in state["understanding"].unknown_tags.items()
        ]
        return {"answer": "\n".join(lines)}

    def route(state: AgentState) -> dict[str, Any]:
        seen = state["understanding"]
        planned = plan(seen, parts.global_route)
        choice = model_choice(parts.llm, parts.model, seen, planned) if parts.model_routing else None
        wanted = planned + ([choice.call] if choice and choice.verdict == "added" and choice.call else [])
        calls, skipped = admit(wanted, parts.budget)
        route = {"intent": seen.intent, "tags": seen.tags, "from_context": seen.from_context,
                 "planned": [str(c) for c in planned], "model_choice": choice.as_dict() if choice else None,
                 "skipped": skipped}  # fmt: skip
        return {"route": route, "calls": calls}

    def fan_out(state: AgentState) -> list[Send]:
        by_source: dict[str, list[PlannedCall]] = {}
        for call in state["calls"]:
            by_source.setdefault(call.source, []).append(call)
        return [Send("retrieve", {"source": source, "calls": calls}) for source, calls in by_source.items()]

    def retrieve(branch: dict[str, Any]) -> dict[str, Any]:
        done = run_calls(branch["calls"], parts.toolbox)
        # Retrieved text is data, never instructions: injections are cut out and personal data
        # anonymised before anything reaches the model or the answer.
        evidence, decisions = [], []
        for item in done.evidence:
            verdict = parts.guards.check_retrieved(item.text, item.kind)
            evidence.append(replace(item, text=verdict.text) if verdict.text != item.text else item)
            decisions += [{**d, "evidence": item.id} for d in verdict.decisions]
        return {"evidence": evidence, "records": done.records, "not_checked": done.not_checked, "guards": decisions}

    def grade(state: AgentState) -> dict[str, Any]:
        _, dropped = grading.grade(state.get("evidence", []), state["understanding"])
        return {"dropped": dropped}

    def after_grade(state: AgentState) -> str:
        if grading.too_little(usable(state)) and not state.get("reformulated"):
            if grading.reformulate(state["understanding"]):
                return "reformulate"
        seen = state["understanding"]
        return "draft_work_order" if seen.intent == "work_order" and seen.tags else "synthesise"

    def reformulate(state: AgentState) -> dict[str, Any]:
        seen = state["understanding"]
        query = grading.reformulate(seen)
        made = list(state["calls"])
        calls, skipped = admit([planned_call("docs", "search", query=query, tags=tuple(seen.tags[:2]))],
                               parts.budget, made)  # fmt: skip
        route = {**state["route"], "reformulated": query, "skipped": [*state["route"]["skipped"], *skipped]}
        return {"reformulated": query, "calls": [*made, *calls], "route": route}

    def fan_out_retry(state: AgentState) -> list[Send] | str:
        retry = [c for c in state["calls"] if c.kwargs.get("query") == state["reformulated"]]
        return [Send("retrieve", {"source": "docs", "calls": retry})] if retry else "grade"

    def synthesise(state: AgentState) -> dict[str, Any]:
        evidence = usable(state)
        if parts.llm is None or not evidence:
            return {"draft": ""}
        write = get_stream_writer()
        usage: list[Any] = []
        pieces: list[str] = []
        try:
            prompt = synthesis.messages(state["question"], evidence, parts.prompt_chars, state["understanding"])
            for piece in parts.llm.stream(prompt, model=parts.model,
                                          max_tokens=parts.answer_tokens, usage=usage):  # fmt: skip
                pieces.append(piece)
                write({"token": piece})
        except MaintgraphError as exc:  # the model server down: the evidence is still shown
            log.warning("model call failed, answering from the evidence: %s", exc)
            return {"draft": "", "not_checked": [f"the model ({exc})"]}
        tokens = {"prompt": sum(r.prompt_tokens or 0 for r in usage),
                  "completion": sum(r.completion_tokens or 0 for r in usage)}  # fmt: skip
        return {"draft": "".join(pieces), "tokens": tokens}

    def check(state: AgentState) -> dict[str, Any]:
        answer = synthesis.finish(state.get("draft", ""), usable(state), state["understanding"],
                                  state.get("not_checked", []))  # fmt: skip
        written_by = "evidence" if answer.extractive else "model"  # did the model's cited draft survive?
        return {"answer": answer.text, "cited": answer.cited, "removed": answer.removed,
                "route": {**state["route"], "written_by": written_by}}  # fmt: skip

    def output_guard(state: AgentState) -> dict[str, Any]:
        notes = [synthesis.not_checked_note(state["not_checked"])] if state.get("not_checked") else []
        verdict = parts.guards.check_output(state["answer"], {e.id: e.text for e in usable(state)}, notes)
        if verdict.blocked:
            return {"answer": f"I can't give that answer: {verdict.blocked}", "cited": [], "guards": verdict.decisions}
        return {"answer": verdict.text, "guards": verdict.decisions}

    def draft_work_order(state: AgentState) -> dict[str, Any]:
        if parts.cmms is None:
            return {"answer": "No CMMS is configured, so no work order can be drafted.", "work_order": None}
        draft, checked, note = checked_draft(parts.cmms, draft_from(state["understanding"], state.get("history", [])))
        order = {"draft": draft.model_dump(mode="json"), "asset": checked["asset"], "note": note,
                 "open_work_orders_on_asset": checked["open_work_orders_on_asset"]}  # fmt: skip
        return {"work_order": order, "answer": describe_draft(order)}

    def approval(state: AgentState) -> dict[str, Any]:
        order = state.get("work_order")
        if not order:
            return {}
        decision = Decision.model_validate(interrupt(order))
        draft = WorkOrderDraft.model_validate(order["draft"])
        if not decision.approved:
            return {"answer": f"Work order for {draft.asset_tag} not submitted: {decision.by} rejected the draft."}
        try:
            created = parts.cmms.submit_work_order(draft, decision.token or "")
        except MaintgraphError as exc:  # refused: a bad token, an approval already used, a bad draft
            return {"answer": f"Work order not submitted: {exc}"}
        except Exception as exc:
            log.exception("submitting the work order for %s failed", draft.asset_tag)
            return {"answer": f"Work order status unknown ({exc}); check the CMMS for {draft.asset_tag} before "
                              "approving again (approving this draft again cannot create a second one)."}  # fmt: skip
        return {"submitted": created, "cited": [f"wo:{created['number']}"],
                "answer": f"Submitted {created['number']} on {created['asset']} ({created['status']}), "
                          f"approved by {decision.by} [wo:{created['number']}]."}  # fmt: skip

    def remember(state: AgentState) -> dict[str, Any]:
        seen: Understanding | None = state.get("understanding") if not state.get("blocked") else None
        turn = Turn(question=state["question"], answer=state.get("answer", ""),
                    intent=seen.intent if seen else "", tags=seen.tags if seen else [])  # fmt: skip
        return {"history": [turn], "previous": seen if seen and seen.equipment else state.get("previous")}

    graph = StateGraph(AgentState)
    nodes = {"input_guard": input_guard, "refuse": refuse, "understand": understand_node,
             "unknown_asset": unknown_asset, "route": route, "retrieve": retrieve, "grade": grade,
             "reformulate": reformulate, "synthesise": synthesise, "check": check, "output_guard": output_guard,
             "draft_work_order": draft_work_order, "approval": approval, "remember": remember}  # fmt: skip
    for name, node in nodes.items():
        graph.add_node(name, _timed(name, node))
    graph.add_edge(START, "input_guard")
    graph.add_conditional_edges("input_guard", lambda s: "refuse" if s.get("blocked") else "understand",
                                ["refuse", "understand"])  # fmt: skip
    graph.add_conditional_edges(
        "understand",
        lambda s: "unknown_asset" if s["understanding"].unknown_tags and not s["understanding"].equipment else "route",
        ["unknown_asset", "route"],
    )
    graph.add_conditional_edges("route", fan_out, ["retrieve"])
    graph.add_edge("retrieve", "grade")
    graph.add_conditional_edges("grade", after_grade, ["reformulate", "synthesise", "draft_work_order"])
    graph.add_conditional_edges("reformulate", fan_out_retry, ["retrieve", "grade"])
    graph.add_edge("synthesise", "check")
    graph.add_edge("check", "output_guard")
    graph.add_edge("draft_work_order", "approval")
    for last in ("refuse", "unknown_asset", "output_guard", "approval"):
        graph.add_edge(last, "remember")
    graph.add_edge("remember", END)
    return graph.compile(checkpointer=checkpointer)


def draft_fingerprint(order: dict[str, Any]) -> str:
    """Names a draft, so a chat button shown for an older draft cannot decide a newer one."""
    return hashlib.sha256(json.dumps(order, sort_keys=True, default=str).encode()).hexdigest()[:16]


def describe_draft(order: dict[str, Any]) -> str:
    draft = order["draft"]
    lines = [f"Draft work order for {draft['asset_tag']} ({order['asset']}), waiting for approval:",
             f"  type {draft['wo_type']}, priority {draft['priority']}: {draft['description']}"]  # fmt: skip
    if draft.get("problem_code"):
        lines.append(f"  failure code {draft['problem_code']}")
    if draft.get("long_text"):
        lines.append(f"  details: {draft['long_text']}")
    if order.get("note"):
        lines.append(f"  note: {order['note']}")
    open_now = order.get("open_work_orders_on_asset") or []
    if open_now:
        listed = ", ".join(f"{w['number']} {w['description']}" for w in open_now)
        lines.append(f"  already open on this asset: {listed}")
    return "\n".join(lines)


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
