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
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
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


def planned_call(source: Source, name: str, **kwargs: Any) -> PlannedCall:
    return PlannedCall(source, name, tuple(sorted(kwargs.items())))


# "Which other pumps have the same bearing?": where a failing part may fail next.
SHARED = re.compile(r"\b(other|same|share[sd]?|also (fitted|use)|elsewhere|anywhere else|which else)\b", re.I)
PHYSICAL = ("diagnose", "procedure", "work_order")  # intents that lead to hands-on work: isolation first
# A period and these words ask for counts over the CMMS's records, not for the latest few.
EVENTS = re.compile(r"\b(events?|alerts?|alarms?|anomal\w*)\b", re.I)
WORK_ORDERS = re.compile(r"\b(work ?orders?|wos?|maintenance|preventive|corrective)\b", re.I)
# "What are the recurring failure themes in the cooling water system?", "which failure mechanisms
# dominate our rotating equipment?": questions across the plant, answered from community reports.
PLANT_WIDE = re.compile(r"\b(recurring|themes?|trends?|patterns?|dominat\w*|across|plant[- ]wide|whole plant|overall|"
                        r"most (common|frequent)|typical(ly)?|in general|fleet)\b", re.I)  # fmt: skip
GROUPS = {"WORK_ORDER": re.compile(r"\bwork ?orders?\b", re.I), "ALERT": re.compile(r"\b(alerts?|alarms?)\b", re.I),
          "ANOMALY": re.compile(r"\banomal", re.I)}  # fmt: skip


def plan(seen: Understanding, global_route: bool = True) -> list[PlannedCall]:
    """The deterministic route: document search always, then per linked asset (at most
    ``MAX_ASSETS``) the graph queries and CMMS tools its intent needs; isolation for any
    physical work; stock for every linked part; for a plant-wide question naming no asset, the
    communities' reports (GraphRAG's global route), unless ``global_route`` is False."""
    calls = [planned_call("docs", "search", query=seen.question, tags=tuple(seen.tags[:MAX_ASSETS]))]
    modes = [c.key for c in seen.failure_terms if c.label == "FailureMode"]
    for tag in seen.tags[:MAX_ASSETS]:
        if seen.intent in PHYSICAL:
            calls.append(planned_call("graph", "isolation", tag=tag))
        if seen.intent == "diagnose":
            # An FMEA symptom is matched by name; a failure mode ("overheating") lists the FMEA instead.
            symptom = next((c.name for c in seen.failure_terms if c.label == "Symptom"), None)
            calls.append(planned_call("graph", "symptom_causes", tag=tag, symptom=symptom) if symptom
                         else planned_call("graph", "failure_modes", tag=tag))  # fmt: skip
            calls.append(planned_call("cmms", "asset_history", asset_tag=tag))
        elif seen.intent == "history":
            calls.append(planned_call("cmms", "asset_history", asset_tag=tag))
            calls.append(planned_call("cmms", "pm_status", asset_tag=tag))
            calls.append(planned_call("cmms", "open_work_orders", asset_tag=tag))
            if seen.topic:  # "how often has the seal been changed": the work orders that say so
                text = " or ".join(seen.topic[:4])
                calls.append(planned_call("cmms", "search_work_orders", asset_tag=tag, text=text))
        elif seen.intent == "work_order":
            calls.append(planned_call("cmms", "open_work_orders", asset_tag=tag))
        if seen.period and seen.intent != "work_order":
            calls += counted_over_period(seen, tag)
        if seen.intent in ("diagnose", "procedure"):
            calls += [planned_call("graph", "failure_mode_fix", tag=tag, mode=mode) for mode in modes[:1]]
        if SHARED.search(seen.question):
            calls.append(planned_call("graph", "shared_components", tag=tag))
        if seen.intent != "history":  # components, fitted parts, sensors, drive train
            calls.append(planned_call("graph", "equipment_neighbourhood", tag=tag))
        if seen.intent == "parts" and not seen.parts:  # "have we got a P-101 DE bearing?"
            calls.append(planned_call("cmms", "fitted_part_stock", tag=tag, topic=tuple(seen.topic)))
    if global_route and not seen.tags and PLANT_WIDE.search(seen.question):  # the global route
        calls.append(planned_call("docs", "community_reports", query=seen.question))
    for part in seen.parts:
        calls.append(planned_call("cmms", "part_availability", part_number=part.key))
    if seen.intent == "parts" and not seen.parts and not seen.tags and seen.topic:  # "how much EP2 grease?"
        calls.append(planned_call("cmms", "parts_named", words=tuple(seen.topic)))
    return list(dict.fromkeys(calls))


def counted_over_period(seen: Understanding, tag: str) -> list[PlannedCall]:
    """ "Events of CWC04009 in June 2020 by group", "preventive work orders of CWC04013 for 2017":
    the CMMS counts every record in the period (an asset's history shows only the latest)."""
    start, end = seen.period or ("", "")
    if EVENTS.search(seen.question):
        groups = tuple(group for group, words in GROUPS.items() if words.search(seen.question))
        return [planned_call("cmms", "event_summary", asset_tag=tag, date_from=start, date_to=end, groups=groups)]
    if WORK_ORDERS.search(seen.question):
        kind = re.search(r"\b(preventive|corrective)\b", seen.question, re.I)
        wo_type = {"preventive": "PM", "corrective": "CM"}[kind[1].lower()] if kind else None
        return [planned_call("cmms", "count_work_orders", asset_tag=tag, date_from=start, date_to=end, wo_type=wo_type)]
    return []


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


def admit(
    calls: list[PlannedCall], budget: int, made: list[PlannedCall] | None = None
) -> tuple[list[PlannedCall], list[str]]:
    """The calls to make this turn, and why the others are skipped: a call identical to one
    already made (``made``) or planned is a repeat, and no more than ``budget`` are made in all."""
    admitted: list[PlannedCall] = []
    skipped: list[str] = []
    seen = set(made or [])
    for call in calls:
        if call in seen:
            skipped.append(f"{call} (repeated)")
        elif len(seen) >= budget:
            skipped.append(f"{call} (over the budget of {budget} calls)")
        else:
            seen.add(call)
            admitted.append(call)
    return admitted, skipped


def run_calls(calls: list[PlannedCall], toolbox: Toolbox) -> Retrieved:
    """Make the calls in order, gathering their evidence (each id once)."""
    retrieved = Retrieved()
    for call in calls:
        tool = toolbox.get((call.source, call.name))
        if tool is None:
            retrieved.records.append(ToolCallRecord(str(call), 0.0, error="no such tool"))
            retrieved.not_checked.append(f"{call.source} {call.name}: no such tool")
            continue
        started = time.perf_counter()
        try:
            found = tool(**call.kwargs)
        except Exception as exc:
            record = ToolCallRecord(str(call), time.perf_counter() - started, error=str(exc))
            retrieved.not_checked.append(f"{call.source} {call.name}: {exc}")
            if isinstance(exc, MaintgraphError):
                log.warning("%s failed: %s", call, exc)
            else:  # a driver's own error: keep its traceback in the log
                log.exception("%s failed", call)
        else:
            known = {e.id for e in retrieved.evidence}
            retrieved.evidence += [e for e in found if e.id not in known]
            record = ToolCallRecord(str(call), time.perf_counter() - started, [e.id for e in found])
        retrieved.records.append(record)
    return retrieved


def run_plan(calls: list[PlannedCall], toolbox: Toolbox, budget: int = 10) -> Retrieved:
    admitted, skipped = admit(calls, budget)
    retrieved = run_calls(admitted, toolbox)
    retrieved.skipped = skipped
    return retrieved


def build_toolbox(graph: Any = None, search: Callable[[str, list[str]], list[Any]] | None = None, cmms: Any = None,
                  global_search: Callable[[str], list[Evidence]] | None = None) -> Toolbox:  # fmt: skip
    """The tools a plan can call, each returning evidence: the graph store's queries, document
    search (``search(question, tags)`` -> hits), GraphRAG's global route (``global_search(question)``
    -> evidence, :mod:`maintgraph.agent.global_search`), and the CMMS tools. A part left out is simply
    not offered (a plan that needs it reports it as not checked). Every CMMS fact is cited as
    ``wo:``: a work order, ``wo:HISTORY:<tag>``, ``wo:PM-PLAN:<id>`` or ``wo:STOCK:<part>@<store>``."""
    from maintgraph.graph import queries
    from maintgraph.tools.cmms_tools import AssetArgument, SearchWorkOrders

    box: Toolbox = {}
    if search is not None:
        box[("docs", "search")] = lambda query, tags: from_search_hits(search(query, list(tags)))
    if global_search is not None:  # GraphRAG's global route: the communities' reports (cited as documents)
        box[("docs", "community_reports")] = lambda query: global_search(query)
    if graph is not None:
        box[("graph", "symptom_causes")] = lambda tag, symptom: from_graph_result(
            queries.symptom_causes(graph, tag, symptom)
        )
        box[("graph", "failure_modes")] = lambda tag: from_graph_result(queries.failure_modes(graph, tag))
        box[("graph", "equipment_neighbourhood")] = lambda tag: from_graph_result(
            queries.equipment_neighbourhood(graph, tag))  # fmt: skip
        box[("graph", "isolation")] = lambda tag: from_graph_result(queries.isolation(graph, tag))
        box[("graph", "failure_mode_fix")] = lambda tag, mode: from_graph_result(
            queries.failure_mode_fix(graph, tag, mode))  # fmt: skip
        box[("graph", "shared_components")] = lambda tag: from_graph_result(queries.shared_components(graph, tag))
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
        box[("cmms", "part_availability")] = lambda part_number: _stock_evidence(cmms, part_number)
        box[("cmms", "search_work_orders")] = lambda asset_tag, text: from_work_orders(
            cmms.search_work_orders(SearchWorkOrders(asset_tag=asset_tag, text=text, limit=10))
        )
        box[("cmms", "count_work_orders")] = lambda asset_tag, date_from, date_to, wo_type: _count_evidence(
            cmms, asset_tag, date_from, date_to, wo_type
        )
        box[("cmms", "event_summary")] = lambda asset_tag, date_from, date_to, groups: _event_evidence(
            cmms, asset_tag, date_from, date_to, groups
        )
    if cmms is not None and graph is not None:
        box[("cmms", "fitted_part_stock")] = lambda tag, topic: _fitted_part_stock(graph, cmms, tag, topic)
        box[("cmms", "parts_named")] = lambda words: _parts_named(graph, cmms, words)
    return box


def _history_evidence(history: dict[str, Any]) -> list[Evidence]:
    summary = {key: history[key] for key in ("work_orders", "by_type", "corrective_failures", "mtbf_days",
                                             "mttr_hours", "top_failure_codes")}  # fmt: skip
    tag = history["asset"]["tag"]
    return [Evidence(f"wo:HISTORY:{tag}", "wo", render_fields(summary), f"maintenance history of {tag}"),
            *from_work_orders(history["latest"])]  # fmt: skip


def _between(date_from: str, date_to: str) -> str:
    """The half-open period as a person reads it: the last day included."""
    last = date.fromisoformat(date_to) - timedelta(days=1)
    return f"between {date_from} and {last.isoformat()}"


def _tally(counts: dict[str, int]) -> str:
    return ", ".join(f"{key} {n}" for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))) or "none"


def _count_evidence(cmms: Any, tag: str, date_from: str, date_to: str, wo_type: str | None) -> list[Evidence]:
    from maintgraph.tools.cmms_tools import SearchWorkOrders

    query = SearchWorkOrders(asset_tag=tag, date_from=datetime.fromisoformat(date_from),
                             date_to=datetime.fromisoformat(date_to), wo_type=wo_type)  # fmt: skip
    counted = cmms.count_work_orders(query)
    kind = {"PM": "preventive ", "CM": "corrective "}.get(wo_type or "", "")
    text = (f"{tag} had {counted['count']} {kind}work orders {_between(date_from, date_to)}: by type "
            f"{_tally(counted['by_type'])}; by primary failure code {_tally(counted['by_primary_code'])}.")  # fmt: skip
    ref = f"wo:COUNT:{tag}:{date_from}..{date_to}" + (f":{wo_type}" if wo_type else "")
    return [Evidence(ref, "wo", text, f"work orders of {tag} {_between(date_from, date_to)}")]


def _event_evidence(cmms: Any, tag: str, date_from: str, date_to: str, groups: tuple[str, ...]) -> list[Evidence]:
    from maintgraph.tools.cmms_tools import EventQuery

    query = EventQuery(asset_tag=tag, date_from=datetime.fromisoformat(date_from),
                       date_to=datetime.fromisoformat(date_to), groups=list(groups))  # fmt: skip
    events = cmms.event_log(query)
    by_group = {group: 0 for group in groups or ("WORK_ORDER", "ALERT", "ANOMALY")}
    by_group.update(Counter(e["event_group"] for e in events))
    days = len({e["event_time"][:10] for e in events})
    alerts = Counter(e["event_type"] for e in events if e["event_group"] == "ALERT" and e["event_type"])
    anomalies = Counter(e["event_type"] for e in events if e["event_group"] == "ANOMALY" and e["event_type"])
    text = (f"{tag} events {_between(date_from, date_to)}: {', '.join(f'{g} {n}' for g, n in by_group.items())}; "
            f"{days} days with events; alerts by rule: {_tally(alerts)}; anomalies: {_tally(anomalies)}.")  # fmt: skip
    ref = f"wo:EVENTS:{tag}:{date_from}..{date_to}" + (f":{'+'.join(groups)}" if groups else "")
    return [Evidence(ref, "wo", text, f"event log of {tag} {_between(date_from, date_to)}")]


def _stock_evidence(cmms: Any, part_number: str) -> list[Evidence]:
    from maintgraph.tools.cmms_tools import PartArgument

    return [
        Evidence(f"wo:STOCK:{row['part_number']}@{row['storeroom']}", "wo", render_fields(row), row["name"])
        for row in cmms.part_availability(PartArgument(part_number=part_number))
    ]


def _fitted_part_stock(graph: Any, cmms: Any, tag: str, topic: tuple[str, ...], limit: int = 4) -> list[Evidence]:
    """Stock of the parts fitted to an equipment (graph: equipment -> component -> part, then
    the CMMS's stock), those whose component or part matches the question's topic first."""
    from maintgraph.graph import queries

    fitted = [f for f in queries.equipment_neighbourhood(graph, tag).facts if f.get("relation") == "HAS_PART"]

    def hits(fact: dict[str, Any]) -> int:
        tokens = re.findall(r"[a-z0-9]+", f"{fact['from']} {fact['to']} {fact.get('name') or ''}".lower())
        return sum(any(token.startswith(word[:5]) for token in tokens) for word in topic)

    ranked = sorted(fitted, key=hits, reverse=True)
    chosen = [f for f in ranked if hits(f)] or ranked
    evidence = []
    for fact in chosen[:limit]:
        part = fact["to"].split(":", 1)[1]
        evidence.append(Evidence(f"graph:{fact['to']}", "graph", render_fields(fact), "fitted part"))
        evidence += _stock_evidence(cmms, part)
    return evidence


def _parts_named(graph: Any, cmms: Any, words: tuple[str, ...], limit: int = 3) -> list[Evidence]:
    """Stock of the catalogue parts whose names best match the question's words ("EP2 grease")."""
    from maintgraph.graph import queries

    evidence = []
    for part in queries.parts_named(graph, list(words))[:limit]:
        evidence.append(Evidence(f"graph:SparePart:{part['part_number']}", "graph", render_fields(part), "part"))
        evidence += _stock_evidence(cmms, part["part_number"])
    return evidence
