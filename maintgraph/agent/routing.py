"""The served model's tool choice, checked by the deterministic router.

The model is offered the retrievers the intent allows (read from the registry: those whose
``intents`` include it and whose every argument takes a linked entity), as strict function
schemas whose arguments are enums of what entity linking found (a tag the question names, a
failure term it uses), so a schema-valid call can only name real things. vLLM enforces the
schema with ``required`` tool choice. The router then judges the call (a server that ignores
the schema could still return anything):

- ``agrees``: the deterministic plan makes the same call;
- ``added``: a call the plan did not make but the intent allows (it is made, within budget);
- ``rejected``: a tool the intent does not allow, or arguments that are not linked entities. A
  choice to draft a work order is always overruled: a draft comes only from the question's own
  form, a request to raise one (:func:`~maintgraph.agent.understand.requests_work_order`), never
  from a model reading "work order" in a question about the records.

Whatever the model does, the deterministic plan still runs: the model can add evidence, never
take it away, and an invalid or missing choice costs nothing but its latency. So the model is not
asked when every call it could make is already planned (its answer could only agree or be
rejected: seconds of CPU thrown away).
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from typing import Any, Literal

from maintgraph.agent.context import ModelClient
from maintgraph.agent.prompts import ROUTER_SYSTEM, router_question
from maintgraph.agent.understand import Understanding, requests_work_order
from maintgraph.errors import MaintgraphError
from maintgraph.retrieval.analytics import parse, proposal
from maintgraph.retrieval.base import Call, linked_kind, linked_values
from maintgraph.retrieval.registry import Retrievers

log = logging.getLogger(__name__)
# Tools a model may name to raise a work order: none is a retriever; the agent drafts one only on
# a request in the question itself, and a person approves it.
DRAFTING_TOOLS = frozenset({"draft_work_order", "create_work_order", "raise_work_order", "submit_work_order",
                            "open_work_order", "log_work_order"})  # fmt: skip


@dataclass
class ModelChoice:
    call: Call | None
    verdict: Literal["agrees", "added", "rejected", "unavailable", "not asked"]
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"call": str(self.call) if self.call else None, "verdict": self.verdict, "reason": self.reason}


def judge(retrievers: Retrievers, name: str, arguments: dict[str, Any], seen: Understanding,
          planned: list[Call]) -> ModelChoice:  # fmt: skip
    """The router's verdict on a tool call the model chose."""
    if name in DRAFTING_TOOLS:
        why = ("the question asks about work orders, it does not ask to raise one"
               if not requests_work_order(seen.question)
               else "a work order is drafted from the request itself, not by a tool call")  # fmt: skip
        return ModelChoice(None, "rejected", f"{name}: {why}")
    kind = retrievers.kind(name)
    if kind is None or not kind.model_callable():
        return ModelChoice(None, "rejected", f"{name!r} is not a tool")
    values = linked_values(seen)
    params = {param: linked_kind(kind.Args, param) for param in kind.Args.model_fields}
    wrong = [f"{p}={arguments.get(p)!r}" for p, linked in params.items() if arguments.get(p) not in values[linked]]  # type: ignore[index]
    if wrong or set(arguments) - set(params):
        return ModelChoice(None, "rejected", f"{name} with arguments that are not linked entities: {', '.join(wrong)}")
    call = kind.call(**{p: arguments[p] for p in params})
    if call in planned:
        return ModelChoice(call, "agrees")
    if not kind.serves(seen.intent):
        return ModelChoice(call, "rejected", f"{name} does not answer a {seen.intent} question")
    return ModelChoice(call, "added")


def possible_calls(retrievers: Retrievers, seen: Understanding) -> set[Call]:
    """Every call the model could make for ``seen``: each offered tool with each combination of
    the linked entities its arguments take (what the strict schemas allow)."""
    values = linked_values(seen)
    calls = set()
    for kind in retrievers.offered(seen.intent):
        params = list(kind.Args.model_fields)
        choices = [values.get(linked_kind(kind.Args, p), []) for p in params]  # type: ignore[call-overload]
        calls |= {kind.call(**dict(zip(params, combo, strict=True))) for combo in itertools.product(*choices)}
    return calls


def model_choice(llm: ModelClient | None, model: str | None, retrievers: Retrievers, seen: Understanding,
                 planned: list[Call]) -> ModelChoice:  # fmt: skip
    """Ask the served model for one tool call and judge it; any failure leaves the plan as it is.
    Not asked when it could only agree: every call its schemas allow is already planned."""
    tools = retrievers.offered_tools(seen)
    if llm is None or not tools:
        return ModelChoice(None, "not asked", "no model" if llm is None else "no linked entity to call a tool with")
    if possible_calls(retrievers, seen) <= set(planned):
        return ModelChoice(None, "not asked", "the plan already makes every call the model could choose")
    entities = "; ".join(f"{kind}: {', '.join(v)}" for kind, v in linked_values(seen).items() if v)
    messages = [{"role": "system", "content": ROUTER_SYSTEM},
                {"role": "user", "content": router_question(seen.question, entities)}]  # fmt: skip
    try:
        chosen = llm.call_tool(messages, tools, model=model, max_tokens=96)
    except MaintgraphError as exc:
        log.info("model tool choice unavailable: %s", exc)
        return ModelChoice(None, "unavailable", str(exc))
    return judge(retrievers, chosen.name, chosen.arguments, seen, planned)


def analytic_proposal(llm: ModelClient | None, model: str | None, retrievers: Retrievers, seen: Understanding,
                      planned: list[Call]) -> tuple[list[Call], dict[str, Any] | None]:  # fmt: skip
    """For a planned FMEA query the parse could not read whole: the model's proposal of it, judged
    against the parse (:mod:`maintgraph.retrieval.analytics.proposal`). A proposal that fills the
    gap replaces the call's query; any other verdict, or no answer, leaves the plan as it is. A
    question the parse read whole costs no model call (it could only agree or be overruled), nor
    does one planned only in case it is about the FMEA's records that names none of them."""
    analytics = retrievers.configured.get("fmea_analytics")
    call = next((c for c in planned if c.name == "fmea_analytics"), None)
    if llm is None or analytics is None or call is None:
        return planned, None
    vocabulary = analytics.vocabulary()  # type: ignore[attr-defined]
    if not vocabulary.nodes:
        return planned, None
    parsed = parse(seen.question, vocabulary)
    if not parsed.unmatched:  # the parse read the whole question: a proposal could only agree or be overruled
        return planned, {"verdict": "not asked", "reason": "the parse read the whole question"}
    if dict(call.args).get("grounded_only") and not (parsed.entries or any(parsed.scope)):
        # Planned only in case a question in plain words is about the FMEA's records; the parse, which
        # reads the FMEA's own names, finds none of its parts or failure modes in it: the retriever
        # will answer nothing, and the model's proposal is rejected for naming what the question does
        # not (3 of 3 in a sample-plant bench, 8.8-11.4 s each on this CPU).
        return planned, {"verdict": "not asked", "reason": "it names nothing the FMEA holds"}
    try:
        proposed = llm.structured(proposal.messages(seen.question), proposal.schema(vocabulary), model=model,
                                  max_tokens=120, repairs=0)  # fmt: skip
    except MaintgraphError as exc:
        log.info("model query proposal unavailable: %s", exc)
        return planned, {"verdict": "unavailable", "reason": str(exc)}
    query, verdict = proposal.judge(parsed, proposed.model_dump(), vocabulary, seen.question)
    if verdict.verdict != "added":
        return planned, verdict.model_dump()
    judged = type(call)(call.source, call.name, (*call.args, ("query", query.model_dump_json())))
    return [judged if c == call else c for c in planned], verdict.model_dump()
