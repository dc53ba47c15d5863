"""The served model's tool choice, checked by the deterministic router.

The model is offered the graph and CMMS tools the intent allows, as strict function schemas
whose arguments are enums of what entity linking found (a tag the question names, a failure
term it uses), so a schema-valid call can only name real things. vLLM enforces the schema with
``required`` tool choice. The router then judges the call (a server that ignores the schema
could still return anything):

- ``agrees``: the deterministic plan makes the same call;
- ``added``: a call the plan did not make but the intent allows (it is made, within budget);
- ``rejected``: a tool the intent does not allow, or arguments that are not linked entities.

Whatever the model does, the deterministic plan still runs: the model can add evidence, never
take it away, and an invalid or missing choice costs nothing but its latency.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from maintgraph.agent.plan import PlannedCall, planned_call
from maintgraph.agent.understand import Intent, Understanding
from maintgraph.errors import MaintgraphError

log = logging.getLogger(__name__)

# name -> (source, what it answers, the argument each parameter takes from the understanding)
TOOLS: dict[str, tuple[Literal["graph", "cmms"], str, dict[str, str]]] = {
    "symptom_causes": ("graph", "Likely causes, checks and sensors for a symptom on an equipment (FMEA).",
                       {"tag": "tags", "symptom": "terms"}),
    "failure_modes": ("graph", "The failure modes an equipment's FMEA lists, with causes and RPN.", {"tag": "tags"}),
    "failure_mode_fix": ("graph", "The procedure, isolation, parts and hazards that fix a failure mode.",
                         {"tag": "tags", "mode": "modes"}),
    "isolation": ("graph", "The LOTO procedure, energy sources and isolation points of an equipment.",
                  {"tag": "tags"}),
    "equipment_neighbourhood": ("graph", "An equipment's components, fitted parts, sensors and drive train.",
                                {"tag": "tags"}),
    "shared_components": ("graph", "Other equipment fitted with the same spare parts.", {"tag": "tags"}),
    "asset_history": ("cmms", "Work-order history: counts, MTBF, MTTR, top failure codes, latest work.",
                      {"asset_tag": "tags"}),
    "pm_status": ("cmms", "Preventive maintenance plans: last done, next due, overdue.", {"asset_tag": "tags"}),
    "open_work_orders": ("cmms", "Work orders still open on an asset.", {"asset_tag": "tags"}),
    "part_availability": ("cmms", "Stock of a spare part per storeroom, and its alternates.",
                          {"part_number": "parts"}),
}  # fmt: skip

# What each intent may call: the router's check on the model's choice.
ALLOWED: dict[Intent, set[str]] = {
    "diagnose": {"symptom_causes", "failure_modes", "failure_mode_fix", "isolation", "equipment_neighbourhood",
                 "shared_components", "asset_history"},
    "procedure": {"failure_mode_fix", "isolation", "equipment_neighbourhood", "shared_components"},
    "history": {"asset_history", "pm_status", "open_work_orders"},
    "parts": {"part_availability", "equipment_neighbourhood", "shared_components"},
    "work_order": {"open_work_orders", "isolation", "asset_history", "equipment_neighbourhood"},
    "general": set(TOOLS),
}  # fmt: skip

SYSTEM = (
    "You route a maintenance technician's question to one tool. Call the single tool that best answers it, "
    "with arguments taken from the entities listed."
)


@dataclass
class ModelChoice:
    call: PlannedCall | None
    verdict: Literal["agrees", "added", "rejected", "unavailable", "not asked"]
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"call": str(self.call) if self.call else None, "verdict": self.verdict, "reason": self.reason}


def _values(seen: Understanding) -> dict[str, list[str]]:
    return {
        "tags": seen.tags,
        "terms": [c.name for c in seen.failure_terms],
        "modes": [c.key for c in seen.failure_terms if c.label == "FailureMode"],
        "parts": [c.key for c in seen.parts],
    }


def offered_tools(seen: Understanding) -> list[Any]:
    """The tools the intent allows whose every argument can be filled from what was linked, as
    strict schemas (fewer tools, a shorter prompt: each schema costs the CPU model seconds)."""
    from maintgraph.llm.client import Tool

    values = _values(seen)
    tools = []
    for name, (_, description, params) in TOOLS.items():
        if name not in ALLOWED[seen.intent] or not all(values[kind] for kind in params.values()):
            continue
        fields: dict[str, Any] = {
            param: (Literal[tuple(values[kind])], Field(description=f"one of the linked {kind}"))  # type: ignore[misc]
            for param, kind in params.items()
        }
        model: type[BaseModel] = create_model(f"{name}_args", **fields)
        tools.append(Tool(name, description, model))
    return tools


def judge(name: str, arguments: dict[str, Any], seen: Understanding, planned: list[PlannedCall]) -> ModelChoice:
    """The router's verdict on a tool call the model chose."""
    if name not in TOOLS:
        return ModelChoice(None, "rejected", f"{name!r} is not a tool")
    source, _, params = TOOLS[name]
    values = _values(seen)
    wrong = [f"{p}={arguments.get(p)!r}" for p, kind in params.items() if arguments.get(p) not in values[kind]]
    if wrong or set(arguments) - set(params):
        return ModelChoice(None, "rejected", f"{name} with arguments that are not linked entities: {', '.join(wrong)}")
    call = planned_call(source, name, **{p: arguments[p] for p in params})
    if call in planned:
        return ModelChoice(call, "agrees")
    if name not in ALLOWED[seen.intent]:
        return ModelChoice(call, "rejected", f"{name} does not answer a {seen.intent} question")
    return ModelChoice(call, "added")


def model_choice(llm: Any, model: str | None, seen: Understanding, planned: list[PlannedCall]) -> ModelChoice:
    """Ask the served model for one tool call and judge it; any failure leaves the plan as it is."""
    tools = offered_tools(seen)
    if llm is None or not tools:
        return ModelChoice(None, "not asked", "no model" if llm is None else "no linked entity to call a tool with")
    entities = "; ".join(f"{kind}: {', '.join(v)}" for kind, v in _values(seen).items() if v)
    messages = [{"role": "system", "content": SYSTEM},
                {"role": "user", "content": f"Question: {seen.question}\nEntities: {entities}"}]  # fmt: skip
    try:
        chosen = llm.call_tool(messages, tools, model=model, max_tokens=96)
    except MaintgraphError as exc:
        log.info("model tool choice unavailable: %s", exc)
        return ModelChoice(None, "unavailable", str(exc))
    return judge(chosen.name, chosen.arguments, seen, planned)
