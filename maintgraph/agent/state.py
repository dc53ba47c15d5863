"""The agent's state: what a conversation keeps between turns, and what one turn gathers.

The checkpointer stores the whole state per thread, so a turn's own fields must be reset when
the next turn starts: :func:`new_turn` gives the input that does it. Fields that parallel
retrieval branches write to together (evidence, tool-call records, what could not be checked)
use :func:`gathered`, which appends, and which a ``None`` resets.
"""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

from maintgraph.agent.understand import Understanding
from maintgraph.retrieval.base import Call, Evidence, Source, ToolCallRecord


def gathered(old: list[Any] | None, new: list[Any] | None) -> list[Any]:
    """Append what a node gathered; ``None`` starts the list afresh (a new turn)."""
    return [] if new is None else [*(old or []), *new]


def merged(old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any]:
    """Merge per-node figures (timings, tokens); ``None`` starts afresh."""
    return {} if new is None else {**(old or {}), **new}


class Turn(TypedDict):
    question: str
    answer: str
    intent: str
    tags: list[str]


class Branch(TypedDict):
    """One parallel retrieval branch: the calls of one source (the payload ``Send`` carries)."""

    source: Source
    calls: list[Call]


class AgentState(TypedDict, total=False):
    # -- the conversation, kept per thread by the checkpointer
    history: Annotated[list[Turn], gathered]
    previous: Understanding | None  # the last turn's understanding: what "it" refers to
    # -- this turn
    question: str
    blocked: str  # why the input guard refused the question ("" when it passed)
    understanding: Understanding | None
    route: dict[str, Any]  # intent, plan, the model's tool choice and the router's verdict
    calls: list[Call]  # what the retrieval branches run (set by route and reformulate)
    reformulated: str  # the reformulated document query, once ("" before)
    evidence: Annotated[list[Evidence], gathered]
    records: Annotated[list[ToolCallRecord], gathered]
    not_checked: Annotated[list[str], gathered]
    dropped: list[str]  # evidence ids the grader judged irrelevant
    composed: str  # the composer's answer, streamed at once (the output guard trusts its graph-fact lines)
    draft: str  # the model's phrasing, before the citation check
    answer: str
    cited: list[str]
    removed: int  # sentences the citation check left out
    work_order: dict[str, Any] | None  # a draft waiting for a person's approval
    submitted: dict[str, Any] | None  # what the CMMS created after approval
    guards: Annotated[list[dict[str, Any]], gathered]
    timings: Annotated[dict[str, float], merged]
    tokens: Annotated[dict[str, int], merged]


def new_turn(question: str) -> dict[str, Any]:
    """The input that starts a turn: the question, and this turn's fields emptied."""
    return {
        "question": question, "blocked": "", "understanding": None, "route": {}, "calls": [], "reformulated": "",
        "evidence": None, "records": None, "not_checked": None, "dropped": [], "composed": "", "draft": "",
        "answer": "", "cited": [], "removed": 0, "work_order": None, "submitted": None, "guards": None,
        "timings": None, "tokens": None,
    }  # fmt: skip
