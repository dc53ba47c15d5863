"""The CMMS (work orders, PM plans, stock, event log) as retrievers.

Every CMMS fact is cited as ``wo:``: a work order (``wo:WO-25-00077``), ``wo:HISTORY:<tag>``,
``wo:PM-PLAN:<id>``, ``wo:STOCK:<part>@<store>``, ``wo:COUNT:<tag>:<from>..<to>`` or
``wo:EVENTS:<tag>:<from>..<to>``.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from maintgraph.citations import graph_id, wo_id
from maintgraph.graph import queries
from maintgraph.retrieval.base import Evidence, Question, Retriever, linked, plain_numbers, render_fields
from maintgraph.tools.cmms_tools import AssetArgument, EventQuery, PartArgument, SearchWorkOrders

# A period and these words ask for counts over the CMMS's records, not for the latest few.
EVENTS = re.compile(r"\b(events?|alerts?|alarms?|anomal\w*)\b", re.I)
WORK_ORDERS = re.compile(r"\b(work ?orders?|wos?|maintenance|preventive|corrective)\b", re.I)
GROUPS = {"WORK_ORDER": re.compile(r"\bwork ?orders?\b", re.I), "ALERT": re.compile(r"\b(alerts?|alarms?)\b", re.I),
          "ANOMALY": re.compile(r"\banomal", re.I)}  # fmt: skip
WO_TYPES = {"preventive": "PM", "corrective": "CM"}


def from_work_orders(rows: list[dict[str, Any]]) -> list[Evidence]:
    """Work orders (``search_work_orders``, ``open_work_orders``) -> one evidence per work order."""
    return [
        Evidence(
            wo_id(row["number"]),
            "wo",
            f"{row['number']} on {row['asset']}: {row['type']} {row['status']}, reported {row['reported'] or '-'}, "
            f"finished {row['finished'] or '-'}, code {row['failure_code'] or '-'}: {row['description']}",
            f"work order {row['number']}",
            dict(row),
        )
        for row in rows
    ]


def _between(date_from: str, date_to: str) -> str:
    """The half-open period as a person reads it: the last day included."""
    last = date.fromisoformat(date_to) - timedelta(days=1)
    return f"between {date_from} and {last.isoformat()}"


def _tally(counts: dict[str, int]) -> str:
    return ", ".join(f"{key} {n}" for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))) or "none"


class AssetArgs(BaseModel):
    asset_tag: str = linked("tags")


class CMMSRetriever(Retriever[AssetArgs]):
    source = "cmms"
    per_asset = True
    needs = ("cmms",)
    Args = AssetArgs


class AssetHistory(CMMSRetriever):
    name = "asset_history"
    description = "Work-order history: counts, MTBF, MTTR, top failure codes, latest work."
    intents = frozenset({"diagnose", "history", "work_order"})

    @classmethod
    def plan(cls, question: Question, tag: str | None) -> list[dict[str, Any]]:
        return [{"asset_tag": tag}] if question.intent in ("diagnose", "history") else []

    def run(self, args: AssetArgs) -> list[Evidence]:
        history = self.backends.cmms.asset_history(AssetArgument(asset_tag=args.asset_tag))
        summary = {key: history[key] for key in ("work_orders", "by_type", "corrective_failures", "mtbf_days",
                                                 "mttr_hours", "top_failure_codes")}  # fmt: skip
        tag = history["asset"]["tag"]
        return [Evidence(wo_id("HISTORY", tag), "wo", render_fields(summary), f"maintenance history of {tag}",
                         {**summary, "asset": tag}),
                *from_work_orders(history["latest"])]  # fmt: skip


class PmStatus(CMMSRetriever):
    name = "pm_status"
    description = "Preventive maintenance plans: last done, next due, overdue."
    intents = frozenset({"history"})

    @classmethod
    def plan(cls, question: Question, tag: str | None) -> list[dict[str, Any]]:
        return [{"asset_tag": tag}] if question.intent == "history" else []

    def run(self, args: AssetArgs) -> list[Evidence]:
        return [
            Evidence(
                wo_id("PM-PLAN", plan["id"].removeprefix("PM:")), "wo", render_fields(plan), plan["description"], plan
            )
            for plan in map(plain_numbers, self.backends.cmms.pm_status(AssetArgument(asset_tag=args.asset_tag)))
        ]


class OpenWorkOrders(CMMSRetriever):
    name = "open_work_orders"
    description = "Work orders still open on an asset."
    intents = frozenset({"history", "work_order"})

    @classmethod
    def plan(cls, question: Question, tag: str | None) -> list[dict[str, Any]]:
        return [{"asset_tag": tag}] if question.intent in ("history", "work_order") else []

    def run(self, args: AssetArgs) -> list[Evidence]:
        return from_work_orders(self.backends.cmms.open_work_orders(AssetArgument(asset_tag=args.asset_tag)))


class TextArgs(AssetArgs):
    text: str


class WorkOrdersAbout(CMMSRetriever):
    """ "How often has the seal been changed": the work orders whose text says so."""

    name = "search_work_orders"
    description = "An asset's work orders whose text matches words of the question."
    Args = TextArgs

    @classmethod
    def plan(cls, question: Question, tag: str | None) -> list[dict[str, Any]]:
        if question.intent != "history" or not question.topic:
            return []
        return [{"asset_tag": tag, "text": " or ".join(question.topic[:4])}]

    def run(self, args: TextArgs) -> list[Evidence]:  # type: ignore[override]
        query = SearchWorkOrders(asset_tag=args.asset_tag, text=args.text, limit=10)
        return from_work_orders(self.backends.cmms.search_work_orders(query))


class PeriodArgs(AssetArgs):
    date_from: str
    date_to: str


def _counted_over_period(question: Question) -> bool:
    """A period asks for counts over every record in it (an asset's history shows only the latest)."""
    return question.period is not None and question.intent != "work_order"


class CountWorkOrders(CMMSRetriever):
    """ "Preventive work orders of CWC04013 for 2017"."""

    name = "count_work_orders"
    description = "How many work orders an asset had in a period, by type and failure code."

    class Args(PeriodArgs):
        wo_type: str | None = None

    @classmethod
    def plan(cls, question: Question, tag: str | None) -> list[dict[str, Any]]:
        if not _counted_over_period(question) or EVENTS.search(question.question):
            return []
        if not WORK_ORDERS.search(question.question):
            return []
        start, end = question.period or ("", "")
        kind = re.search(r"\b(preventive|corrective)\b", question.question, re.I)
        wo_type = WO_TYPES[kind[1].lower()] if kind else None
        return [{"asset_tag": tag, "date_from": start, "date_to": end, "wo_type": wo_type}]

    def run(self, args: Any) -> list[Evidence]:
        query = SearchWorkOrders(asset_tag=args.asset_tag, date_from=datetime.fromisoformat(args.date_from),
                                 date_to=datetime.fromisoformat(args.date_to), wo_type=args.wo_type)  # fmt: skip
        counted = self.backends.cmms.count_work_orders(query)
        kind = {"PM": "preventive ", "CM": "corrective "}.get(args.wo_type or "", "")
        period = _between(args.date_from, args.date_to)
        by_type, by_code = _tally(counted["by_type"]), _tally(counted["by_primary_code"])
        text = (f"{args.asset_tag} had {counted['count']} {kind}work orders {period}: by type {by_type}; "
                f"by primary failure code {by_code}.")  # fmt: skip
        wo_type = [args.wo_type] if args.wo_type else []
        ref = wo_id("COUNT", args.asset_tag, f"{args.date_from}..{args.date_to}", *wo_type)
        return [Evidence(ref, "wo", text, f"work orders of {args.asset_tag} {period}")]


class EventSummary(CMMSRetriever):
    """ "Events of CWC04009 in June 2020 by group"."""

    name = "event_summary"
    description = "An asset's event log in a period: work orders, alerts and anomalies by group and day."

    class Args(PeriodArgs):
        groups: tuple[str, ...] = ()

    @classmethod
    def plan(cls, question: Question, tag: str | None) -> list[dict[str, Any]]:
        if not _counted_over_period(question) or not EVENTS.search(question.question):
            return []
        start, end = question.period or ("", "")
        groups = tuple(group for group, words in GROUPS.items() if words.search(question.question))
        return [{"asset_tag": tag, "date_from": start, "date_to": end, "groups": groups}]

    def run(self, args: Any) -> list[Evidence]:
        query = EventQuery(asset_tag=args.asset_tag, date_from=datetime.fromisoformat(args.date_from),
                           date_to=datetime.fromisoformat(args.date_to), groups=list(args.groups))  # fmt: skip
        events = self.backends.cmms.event_log(query)
        by_group = {group: 0 for group in args.groups or ("WORK_ORDER", "ALERT", "ANOMALY")}
        by_group.update(Counter(e["event_group"] for e in events))
        days = len({e["event_time"][:10] for e in events})
        alerts = Counter(e["event_type"] for e in events if e["event_group"] == "ALERT" and e["event_type"])
        anomalies = Counter(e["event_type"] for e in events if e["event_group"] == "ANOMALY" and e["event_type"])
        period = _between(args.date_from, args.date_to)
        groups_seen = ", ".join(f"{g} {n}" for g, n in by_group.items())
        text = (f"{args.asset_tag} events {period}: {groups_seen}; {days} days with events; "
                f"alerts by rule: {_tally(alerts)}; anomalies: {_tally(anomalies)}.")  # fmt: skip
        groups = ["+".join(args.groups)] if args.groups else []
        ref = wo_id("EVENTS", args.asset_tag, f"{args.date_from}..{args.date_to}", *groups)
        return [Evidence(ref, "wo", text, f"event log of {args.asset_tag} {period}")]


STOCK_QUANTITIES = ("on_hand", "reserved", "available")


def stock_evidence(cmms: Any, part_number: str) -> list[Evidence]:
    found = cmms.part_availability(PartArgument(part_number=part_number))
    rows = [plain_numbers(row, STOCK_QUANTITIES) for row in found]
    return [
        Evidence(wo_id("STOCK", f"{row['part_number']}@{row['storeroom']}"), "wo", render_fields(row), row["name"], row)
        for row in rows
    ]


class PartArgs(BaseModel):
    part_number: str = linked("parts")


class PartAvailability(Retriever[PartArgs]):
    name = "part_availability"
    source = "cmms"
    description = "Stock of a spare part per storeroom, and its alternates."
    Args = PartArgs
    intents = frozenset({"parts"})
    needs = ("cmms",)

    @classmethod
    def plan(cls, question: Question, tag: str | None) -> list[dict[str, Any]]:
        return [{"part_number": part.key} for part in question.parts]  # every linked part

    def run(self, args: PartArgs) -> list[Evidence]:
        return stock_evidence(self.backends.cmms, args.part_number)


class FittedArgs(BaseModel):
    tag: str = linked("tags")
    topic: tuple[str, ...] = ()


class FittedPartStock(Retriever[FittedArgs]):
    """ "Have we got a P-101 DE bearing?": the parts fitted to the equipment (graph: equipment ->
    component -> part), those matching the question's topic first, and their stock."""

    name = "fitted_part_stock"
    source = "cmms"
    description = "Stock of the parts fitted to an equipment, those the question names first."
    Args = FittedArgs
    per_asset = True
    needs = ("graph", "cmms")
    limit = 4

    @classmethod
    def plan(cls, question: Question, tag: str | None) -> list[dict[str, Any]]:
        return (
            [{"tag": tag, "topic": tuple(question.topic)}] if question.intent == "parts" and not question.parts else []
        )

    def run(self, args: FittedArgs) -> list[Evidence]:
        neighbourhood = queries.equipment_neighbourhood(self.backends.graph, args.tag)
        fitted = [f for f in neighbourhood.facts if f.get("relation") == "HAS_PART"]

        def hits(fact: dict[str, Any]) -> int:
            tokens = re.findall(r"[a-z0-9]+", f"{fact['from']} {fact['to']} {fact.get('name') or ''}".lower())
            return sum(any(token.startswith(word[:5]) for token in tokens) for word in args.topic)

        ranked = sorted(fitted, key=hits, reverse=True)
        chosen = [f for f in ranked if hits(f)] or ranked
        evidence = []
        for fact in chosen[: self.limit]:
            evidence.append(Evidence(graph_id(fact["to"]), "graph", render_fields(fact), "fitted part", fact))
            evidence += stock_evidence(self.backends.cmms, fact["to"].split(":", 1)[1])
        return evidence


class WordsArgs(BaseModel):
    words: tuple[str, ...]


class PartsNamed(Retriever[WordsArgs]):
    """ "How much EP2 grease have we got?": the catalogue parts whose names best match, and their stock."""

    name = "parts_named"
    source = "cmms"
    description = "Stock of the catalogue parts whose names match the question's words."
    Args = WordsArgs
    needs = ("graph", "cmms")
    limit = 3

    @classmethod
    def plan(cls, question: Question, tag: str | None) -> list[dict[str, Any]]:
        wanted = question.intent == "parts" and not question.parts and not question.tags and question.topic
        return [{"words": tuple(question.topic)}] if wanted else []

    def run(self, args: WordsArgs) -> list[Evidence]:
        evidence = []
        for part in queries.parts_named(self.backends.graph, list(args.words))[: self.limit]:
            number = part["part_number"]
            evidence.append(Evidence(graph_id(f"SparePart:{number}"), "graph", render_fields(part), "part", part))
            evidence += stock_evidence(self.backends.cmms, number)
        return evidence
