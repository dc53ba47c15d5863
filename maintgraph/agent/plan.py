"""The deterministic retrieval plan, and running it within a budget.

:func:`plan` turns an :class:`~maintgraph.agent.understand.Understanding` into the calls that
answer it: document search always; graph queries and CMMS tools by intent, per linked asset.
Any question about physical work on an asset also fetches its neighbourhood, which holds the
LOTO procedures that isolate it, so the answer can state isolation before any task step.

:func:`run_plan` runs the calls with a budget per turn and skips a call identical to one
already made (so a model's repeated choice cannot loop). A call that fails is reported as
what could not be checked; the others still count.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from maintgraph.agent.evidence import (
    Evidence,
    from_graph_result,
    from_search_hits,
    from_work_orders,
    render_fields,
)
from maintgraph.agent.understand import Understanding
from maintgraph.errors import MaintgraphError

log = logging.getLogger(__name__)

Source = Literal["docs", "graph", "cmms"]
MAX_ASSETS = 2  # a question about more assets than this is answered for the first two


@dataclass(frozen=True)
class PlannedCall:
    source: Source
    name: str
    args: tuple[tuple[str, Any], ...] = ()

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.args)

    def __str__(self) -> str:
        return f"{self.source}.{self.name}({', '.join(f'{k}={v!r}' for k, v in self.args)})"


def _call(source: Source, name: str, **kwargs: Any) -> PlannedCall:
    return PlannedCall(source, name, tuple(sorted(kwargs.items())))


def plan(seen: Understanding) -> list[PlannedCall]:
    calls = [_call("docs", "search", query=seen.question, tags=tuple(seen.tags[:MAX_ASSETS]))]
    for tag in seen.tags[:MAX_ASSETS]:
        if seen.intent == "diagnose":
            symptom = next((c.name for c in seen.failure_terms), None)
            calls.append(_call("graph", "symptom_causes", tag=tag, symptom=symptom) if symptom
                         else _call("graph", "failure_modes", tag=tag))  # fmt: skip
            calls.append(_call("cmms", "asset_history", asset_tag=tag))
        elif seen.intent == "history":
            calls += [_call("cmms", "asset_history", asset_tag=tag), _call("cmms", "pm_status", asset_tag=tag)]
        elif seen.intent == "work_order":
            calls.append(_call("cmms", "open_work_orders", asset_tag=tag))
        if seen.intent != "history":  # its LOTO procedures, components and fitted parts
            calls.append(_call("graph", "equipment_neighbourhood", tag=tag))
    for part in seen.parts:
        calls.append(_call("cmms", "part_availability", part_number=part.key))
    return list(dict.fromkeys(calls))


@dataclass
class ToolCallRecord:
    call: str
    seconds: float
    evidence_ids: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class Retrieved:
    evidence: list[Evidence] = field(default_factory=list)
    records: list[ToolCallRecord] = field(default_factory=list)
    not_checked: list[str] = field(default_factory=list)  # what the answer must say it could not check
    skipped: list[str] = field(default_factory=list)  # repeats and calls over the budget


Toolbox = dict[tuple[Source, str], Callable[..., list[Evidence]]]


def run_plan(calls: list[PlannedCall], toolbox: Toolbox, budget: int = 8) -> Retrieved:
    retrieved, done = Retrieved(), set()
    for call in calls:
        if call in done:
            retrieved.skipped.append(f"{call} (repeated)")
            continue
        if len(done) >= budget:
            retrieved.skipped.append(f"{call} (over the budget of {budget} calls)")
            continue
        done.add(call)
        tool = toolbox.get((call.source, call.name))
        if tool is None:
            retrieved.records.append(ToolCallRecord(str(call), 0.0, error="no such tool"))
            retrieved.not_checked.append(f"{call.source} {call.name}: no such tool")
            continue
        started = time.perf_counter()
        try:
            found = tool(**call.kwargs)
        except MaintgraphError as exc:  # a store down, an unknown asset, a timeout: say so, carry on
            record = ToolCallRecord(str(call), time.perf_counter() - started, error=str(exc))
            retrieved.not_checked.append(f"{call.source} {call.name}: {exc}")
            log.warning("%s failed: %s", call, exc)
        else:
            known = {e.id for e in retrieved.evidence}
            retrieved.evidence += [e for e in found if e.id not in known]
            record = ToolCallRecord(str(call), time.perf_counter() - started, [e.id for e in found])
        retrieved.records.append(record)
    return retrieved


def build_toolbox(graph: Any = None, search: Callable[[str, list[str]], list[Any]] | None = None,
                  cmms: Any = None) -> Toolbox:  # fmt: skip
    """The tools a plan can call, each returning evidence: the graph store's queries, document
    search (``search(question, tags)`` -> hits), and the CMMS tools. A part left out is simply
    not offered (a plan that needs it reports it as not checked). Every CMMS fact is cited as
    ``wo:``: a work order, ``wo:HISTORY:<tag>``, ``wo:PM-PLAN:<id>`` or ``wo:STOCK:<part>@<store>``."""
    from maintgraph.graph import queries
    from maintgraph.tools.cmms_tools import AssetArgument, PartArgument

    box: Toolbox = {}
    if search is not None:
        box[("docs", "search")] = lambda query, tags: from_search_hits(search(query, list(tags)))
    if graph is not None:
        box[("graph", "symptom_causes")] = lambda tag, symptom: from_graph_result(
            queries.symptom_causes(graph, tag, symptom)
        )
        box[("graph", "failure_modes")] = lambda tag: from_graph_result(queries.failure_modes(graph, tag))
        box[("graph", "equipment_neighbourhood")] = lambda tag: from_graph_result(
            queries.equipment_neighbourhood(graph, tag))  # fmt: skip
    if cmms is not None:
        box[("cmms", "asset_history")] = lambda asset_tag: _history_evidence(
            cmms.asset_history(AssetArgument(asset_tag=asset_tag))
        )
        box[("cmms", "pm_status")] = lambda asset_tag: [
            Evidence(plan["id"].replace("PM:", "wo:PM-PLAN:", 1), "wo", render_fields(plan), plan["description"])
            for plan in cmms.pm_status(AssetArgument(asset_tag=asset_tag))
        ]
        box[("cmms", "open_work_orders")] = lambda asset_tag: from_work_orders(
            cmms.open_work_orders(AssetArgument(asset_tag=asset_tag))
        )
        box[("cmms", "part_availability")] = lambda part_number: [
            Evidence(f"wo:STOCK:{row['part_number']}@{row['storeroom']}", "wo", render_fields(row), row["name"])
            for row in cmms.part_availability(PartArgument(part_number=part_number))]  # fmt: skip
    return box


def _history_evidence(history: dict[str, Any]) -> list[Evidence]:
    summary = {key: history[key] for key in ("work_orders", "by_type", "corrective_failures", "mtbf_days",
                                             "mttr_hours", "top_failure_codes")}  # fmt: skip
    tag = history["asset"]["tag"]
    return [Evidence(f"wo:HISTORY:{tag}", "wo", render_fields(summary), f"maintenance history of {tag}"),
            *from_work_orders(history["latest"])]  # fmt: skip
