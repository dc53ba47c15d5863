"""The agent as a LangGraph state machine; :func:`build_agent` is its wiring alone.

::

    input_guard -> understand -> route -> retrieve (one branch per source, in parallel) -> grade
      grade -> reformulate -> retrieve -> grade      (once, when too little relevant evidence)
      grade -> synthesise -> check -> output_guard -> remember
      grade -> draft_work_order -> approval (interrupt: a person decides) -> remember
      input_guard -> refuse -> remember; understand -> unknown_asset -> remember

- ``understand`` links entities, classifies the intent and fills in what a follow-up leaves
  out from the conversation ("it"); a tag that names no asset stops at ``unknown_asset`` with
  the nearest real tags, and no model call.
- ``route`` makes the deterministic plan from the retriever registry, asks the served model for
  a tool call and lets the router judge it (:mod:`maintgraph.agent.routing`); repeats and calls
  over the budget are skipped. One ``retrieve`` branch per source runs in parallel.
- ``synthesise`` streams the model's phrasing of the evidence; ``check`` keeps only what the
  evidence supports and puts isolation first for physical work (:mod:`.synthesis`).
- ``approval`` pauses on ``interrupt()`` with the draft; only a :class:`Decision` with a
  valid approval token submits it, and the checkpointer lets that happen in another process.

Nodes are in :mod:`.nodes`; what they run on is the runtime context (:mod:`.context`).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Send

from maintgraph.agent import grade as grading
from maintgraph.agent import nodes
from maintgraph.agent.context import AgentContext
from maintgraph.agent.state import AgentState, Branch
from maintgraph.retrieval.base import Call

# -- routers ---------------------------------------------------------------------------------------------


def after_input_guard(state: AgentState) -> Literal["refuse", "understand"]:
    return "refuse" if state.get("blocked") else "understand"


def after_understanding(state: AgentState) -> Literal["unknown_asset", "route"]:
    seen = state["understanding"]
    return "unknown_asset" if seen.unknown_tags and not seen.equipment else "route"


def branches(calls: list[Call]) -> list[Send]:
    """One ``retrieve`` branch per source, each with its calls in plan order."""
    by_source: dict[str, list[Call]] = {}
    for call in calls:
        by_source.setdefault(call.source, []).append(call)
    return [Send("retrieve", Branch(source=source, calls=calls)) for source, calls in by_source.items()]  # type: ignore[typeddict-item]


def to_sources(state: AgentState) -> list[Send]:
    return branches(state["calls"])


def after_grade(state: AgentState) -> Literal["reformulate", "synthesise", "draft_work_order"]:
    seen = state["understanding"]
    if grading.too_little(nodes.usable(state)) and not state.get("reformulated") and grading.reformulate(seen):
        return "reformulate"
    return "draft_work_order" if seen.intent == "work_order" and seen.tags else "synthesise"


def retry_search(state: AgentState) -> list[Send] | Literal["grade"]:
    retry = [c for c in state["calls"] if c.kwargs.get("query") == state["reformulated"]]
    return branches(retry) or "grade"


# -- wiring ----------------------------------------------------------------------------------------------


def timed(name: str, node: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """``node`` with its duration added to the state's timings (``retrieve:<source>`` per branch)."""
    takes_runtime = "runtime" in inspect.signature(node).parameters

    def run(state: Any, runtime: Runtime[AgentContext]) -> dict[str, Any]:
        started = time.perf_counter()
        update = node(state, runtime) if takes_runtime else node(state)
        key = f"{name}:{state['source']}" if name == "retrieve" else name
        return {**update, "timings": {key: time.perf_counter() - started}}

    return run


NODES: dict[str, Callable[..., dict[str, Any]]] = {
    "input_guard": nodes.input_guard, "refuse": nodes.refuse, "understand": nodes.understand_question,
    "unknown_asset": nodes.unknown_asset, "route": nodes.route, "retrieve": nodes.retrieve, "grade": nodes.grade,
    "reformulate": nodes.reformulate, "synthesise": nodes.synthesise, "check": nodes.check,
    "output_guard": nodes.output_guard, "draft_work_order": nodes.draft_work_order, "approval": nodes.approval,
    "remember": nodes.remember,
}  # fmt: skip


def build_agent(checkpointer: Any = None) -> Any:
    """The compiled graph (with ``checkpointer``, conversations and approvals persist); run it
    with ``context=`` an :class:`AgentContext`."""
    graph = StateGraph(AgentState, context_schema=AgentContext)
    for name, node in NODES.items():
        graph.add_node(name, timed(name, node))
    graph.add_edge(START, "input_guard")
    graph.add_conditional_edges("input_guard", after_input_guard)
    graph.add_conditional_edges("understand", after_understanding)
    graph.add_conditional_edges("route", to_sources, ["retrieve"])
    graph.add_edge("retrieve", "grade")
    graph.add_conditional_edges("grade", after_grade)
    graph.add_conditional_edges("reformulate", retry_search, ["retrieve", "grade"])
    graph.add_edge("synthesise", "check")
    graph.add_edge("check", "output_guard")
    graph.add_edge("draft_work_order", "approval")
    for last in ("refuse", "unknown_asset", "output_guard", "approval"):
        graph.add_edge(last, "remember")
    graph.add_edge("remember", END)
    return graph.compile(checkpointer=checkpointer)
