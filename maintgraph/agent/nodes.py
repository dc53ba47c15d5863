"""The agent's nodes: small functions of the state that return a partial update.

Each node reads what it runs on from ``runtime.context`` (:class:`~maintgraph.agent.context.AgentContext`)
and holds nothing itself; :mod:`maintgraph.agent.graph` wires them.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import replace
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from maintgraph.agent import grade as grading
from maintgraph.agent import phrasing, synthesis
from maintgraph.agent.context import AgentContext
from maintgraph.agent.routing import analytic_proposal, model_choice
from maintgraph.agent.state import AgentState, Branch, Turn
from maintgraph.agent.understand import Understanding, in_context, understand
from maintgraph.agent.work_order import Decision, checked_draft, describe_draft, draft_from
from maintgraph.citations import wo_id
from maintgraph.errors import MaintgraphError, public_error
from maintgraph.retrieval.base import Evidence
from maintgraph.retrieval.registry import admit
from maintgraph.tools.cmms import WorkOrderDraft

log = logging.getLogger(__name__)

Ctx = Runtime[AgentContext]
SOURCE_ORDER = {"doc": 0, "graph": 1, "wo": 2}


def usable(state: AgentState) -> list[Evidence]:
    """The evidence gathered this turn, each id once (parallel branches and a retried search can
    return the same item), less what grading dropped."""
    dropped = set(state.get("dropped", []))
    unique = {e.id: e for e in reversed(state.get("evidence") or [])}  # the first of each id wins
    # Branches finish in any order: sources in a fixed order, each keeping its own ranking.
    return sorted((e for e in reversed(unique.values()) if e.id not in dropped), key=lambda e: SOURCE_ORDER[e.kind])


def input_guard(state: AgentState, runtime: Ctx) -> dict[str, Any]:
    verdict = runtime.context.guards.check_input(state["question"])
    return {"question": verdict.text, "blocked": verdict.blocked, "guards": verdict.decisions}


def refuse(state: AgentState) -> dict[str, Any]:
    return {"answer": f"I can't help with that: {state['blocked']}"}


def understand_question(state: AgentState, runtime: Ctx) -> dict[str, Any]:
    context = runtime.context

    def drive_train(tag: str) -> list[dict[str, Any]]:
        try:
            return context.drive_train(tag)
        except Exception:
            log.exception("drive train of %s unavailable", tag)
            return []

    seen = in_context(understand(state["question"], context.linker), state.get("previous"), drive_train)
    return {"understanding": seen}


def unknown_asset(state: AgentState) -> dict[str, Any]:
    lines = [
        f"There is no asset {word} in the asset register"
        + (f"; did you mean {', '.join(c.key for c in nearest)}?" if nearest else ".")
        for word, nearest in state["understanding"].unknown_tags.items()
    ]
    return {"answer": "\n".join(lines)}


def route(state: AgentState, runtime: Ctx) -> dict[str, Any]:
    context, seen = runtime.context, state["understanding"]
    planned = context.retrievers.plan(seen, skip=context.skipped_retrievers)
    choice = (
        model_choice(context.llm, context.model, context.retrievers, seen, planned) if context.model_routing else None
    )
    proposed = None
    if context.model_routing:  # an FMEA query: the model proposes it, the parse judges
        planned, proposed = analytic_proposal(context.llm, context.model, context.retrievers, seen, planned)
    wanted = planned + ([choice.call] if choice and choice.verdict == "added" and choice.call else [])
    calls, skipped = admit(wanted, context.budget)
    route = {"intent": seen.intent, "tags": seen.tags, "from_context": seen.from_context,
             "planned": [str(c) for c in planned], "model_choice": choice.as_dict() if choice else None,
             "query_proposal": proposed,
             "skipped": skipped}  # fmt: skip
    return {"route": route, "calls": calls}


def retrieve(branch: Branch, runtime: Ctx) -> dict[str, Any]:
    context = runtime.context
    done = context.retrievers.run(branch["calls"])
    # Retrieved text is data, never instructions: injections are cut out and personal data
    # anonymised before anything reaches the model or the answer.
    evidence, decisions = [], []
    for item in done.evidence:
        verdict = context.guards.check_retrieved(item.text, item.kind)
        evidence.append(replace(item, text=verdict.text) if verdict.text != item.text else item)
        decisions += [{**d, "evidence": item.id} for d in verdict.decisions]
    return {"evidence": evidence, "records": done.records, "not_checked": done.not_checked, "guards": decisions}


def grade(state: AgentState) -> dict[str, Any]:
    _, dropped = grading.grade(state.get("evidence", []), state["understanding"])
    return {"dropped": dropped}


def reformulate(state: AgentState, runtime: Ctx) -> dict[str, Any]:
    context, seen = runtime.context, state["understanding"]
    query = grading.reformulate(seen)
    search = context.retrievers.kind("search")
    made = list(state["calls"])
    retry = [search.call(query=query, tags=tuple(seen.tags[:2]))] if search else []
    calls, skipped = admit(retry, context.budget, made)
    route = {**state["route"], "reformulated": query, "skipped": [*state["route"]["skipped"], *skipped]}
    return {"reformulated": query, "calls": [*made, *calls], "route": route}


def synthesise(state: AgentState, runtime: Ctx) -> dict[str, Any]:
    """The composed answer streamed at once; then the model rewrites what it can finish within
    the time budget, sentence by sentence, each rewrite checked (:mod:`.synthesis`)."""
    context, evidence, seen = runtime.context, usable(state), state["understanding"]
    if not evidence:
        return {"draft": ""}
    composed = synthesis.finish("", evidence, seen, state.get("not_checked", [])).text
    for word in re.findall(r"\s*\S+", composed):  # at once, a word an event, as a model's tokens would come
        runtime.stream_writer({"token": word})
    if context.llm is None:
        return {"draft": "", "composed": composed}
    # A session opened on one model phrases through it; else the adapter promoted for phrasing.
    model = context.model or getattr(context.llm, "phrasing_model", None)
    prior = context.decode_priors.get(str(model))
    rates = phrasing.measured_rates(getattr(context.llm, "calls", ()), model, prior_decode_tps=prior)
    plan = phrasing.plan_phrasing(state["question"], evidence, seen, context.model_budget_s, rates,
                                   context.answer_tokens)  # fmt: skip
    plan.skip(plan.skipped or context.survival.why_not(str(model)))
    route = {**state["route"], "phrasing": plan.trace()}
    if plan.skipped:
        return {"draft": "", "route": route, "composed": composed}
    usage: list[Any] = []
    pieces: list[str] = []
    started, cut = time.perf_counter(), False
    # Not streamed to the reader: the composed answer was, and only the sentences that pass are shown.
    stream = context.llm.stream(plan.messages, model=model, max_tokens=plan.max_tokens, usage=usage)
    try:
        for piece in stream:
            pieces.append(piece)
            if time.perf_counter() - started > plan.budget_s:  # slower than measured: stop at the budget
                cut = True
                break
    except MaintgraphError as exc:  # the model server down: the composed answer stands
        told, _ = public_error(exc, "the model's answer", log)
        log.warning("model call failed, answering from the evidence: %s", exc)
        return {"draft": "", "not_checked": [f"the model ({told})"], "route": route, "composed": composed}
    finally:
        getattr(stream, "close", lambda: None)()  # a stream left at the budget ends its request
    phrased = phrasing.phrase("".join(pieces), plan, evidence)
    context.survival.record(str(model), phrased.sent, phrased.survived)
    seconds = time.perf_counter() - started
    route["phrasing"] = {**route["phrasing"], **phrased.trace(), "took_s": round(seconds, 2), "cut_at_budget": cut}
    tokens = {"prompt": sum(r.prompt_tokens or 0 for r in usage),
              "completion": sum(r.completion_tokens or 0 for r in usage)}  # fmt: skip
    return {"draft": phrased.text, "tokens": tokens, "route": route, "composed": composed}


def check(state: AgentState) -> dict[str, Any]:
    answer = synthesis.finish(state.get("draft", ""), usable(state), state["understanding"],
                              state.get("not_checked", []))  # fmt: skip
    written_by = "evidence" if answer.extractive else "model"  # did the model's cited draft survive?
    return {"answer": answer.text, "cited": answer.cited, "removed": answer.removed,
            "route": {**state["route"], "written_by": written_by}}  # fmt: skip


def output_guard(state: AgentState, runtime: Ctx) -> dict[str, Any]:
    notes = [synthesis.not_checked_note(state["not_checked"])] if state.get("not_checked") else []
    # The composer's own lines (graph facts rendered, never a model's words): the guard trusts those
    # that cite graph facts alone, as it trusts a graph fact quoted word for word.
    composed = state.get("composed", "").splitlines()
    evidence = {e.id: e.text for e in usable(state)}
    verdict = runtime.context.guards.check_output(state["answer"], evidence, notes, composed)
    if verdict.blocked:
        return {"answer": f"I can't give that answer: {verdict.blocked}", "cited": [], "guards": verdict.decisions}
    return {"answer": verdict.text, "guards": verdict.decisions}


def draft_work_order(state: AgentState, runtime: Ctx) -> dict[str, Any]:
    cmms = runtime.context.cmms
    if cmms is None:
        return {"answer": "No CMMS is configured, so no work order can be drafted.", "work_order": None}
    draft, checked, note = checked_draft(cmms, draft_from(state["understanding"], state.get("history", [])))
    order = {"draft": draft.model_dump(mode="json"), "asset": checked["asset"], "note": note,
             "open_work_orders_on_asset": checked["open_work_orders_on_asset"]}  # fmt: skip
    return {"work_order": order, "answer": describe_draft(order)}


def approval(state: AgentState, runtime: Ctx) -> dict[str, Any]:
    order, cmms = state.get("work_order"), runtime.context.cmms
    if not order or cmms is None:
        return {}
    decision = Decision.model_validate(interrupt(order))
    draft = WorkOrderDraft.model_validate(order["draft"])
    if not decision.approved:
        return {"answer": f"Work order for {draft.asset_tag} not submitted: {decision.by} rejected the draft."}
    try:
        created = cmms.submit_work_order(draft, decision.token or "")
    except MaintgraphError as exc:  # refused: a bad token, an approval already used, a bad draft
        told, _ = public_error(exc, f"submitting the work order for {draft.asset_tag}", log)
        return {"answer": f"Work order not submitted: {told}"}
    except Exception as exc:  # noqa: BLE001 - logged whole, with its traceback, under an error id
        told, _ = public_error(exc, f"submitting the work order for {draft.asset_tag}", log)
        return {"answer": f"Work order status unknown ({told}); check the CMMS for {draft.asset_tag} before "
                          "approving again (approving this draft again cannot create a second one)."}  # fmt: skip
    return {"submitted": created, "cited": [wo_id(created["number"])],
            "answer": f"Submitted {created['number']} on {created['asset']} ({created['status']}), "
                      f"approved by {decision.by} [wo:{created['number']}]."}  # fmt: skip


def remember(state: AgentState) -> dict[str, Any]:
    seen: Understanding | None = state.get("understanding") if not state.get("blocked") else None
    turn = Turn(question=state["question"], answer=state.get("answer", ""),
                intent=seen.intent if seen else "", tags=seen.tags if seen else [])  # fmt: skip
    return {"history": [turn], "previous": seen if seen and seen.equipment else state.get("previous")}
