"""The equipment knowledge graph's multi-hop queries (:mod:`maintgraph.graph.queries`) as
retrievers: FMEA causes and modes, fixes, isolation, an equipment's surroundings, shared parts.

Each fact is cited by the node it is about (``graph:FMEAEntry:...``, ``graph:IsolationPoint:...``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar

from pydantic import BaseModel

from maintgraph.citations import graph_id
from maintgraph.graph import queries
from maintgraph.graph.queries import QueryResult
from maintgraph.retrieval.base import (
    PHYSICAL,
    Evidence,
    Question,
    Retriever,
    linked,
    plain_numbers,
    render_fields,
)

# "Which other pumps have the same bearing?": where a failing part may fail next.
SHARED = re.compile(r"\b(other|same|share[sd]?|also (fitted|use)|elsewhere|anywhere else|which else)\b", re.I)
# The key of a graph fact that names the node it is about, most specific first: an isolation point
# rather than its LOTO procedure, the other equipment's component rather than the shared part.
GRAPH_REF_KEYS = ("fmea", "isolation_point", "other_component", "part", "procedure", "ref", "cause", "component")
# What a technician reads first in a graph fact: the failure, its cause and the sensor to check.
LEADING_KEYS = (
    "equipment", "component_name", "mode", "mode_name", "symptoms", "causes", "check_sensor", "sensor_name",
    "sensor_unit", "sensor_alarm_high", "sensor_trip_high", "recommended_action",
)  # fmt: skip


def from_graph_result(result: QueryResult) -> list[Evidence]:
    """A graph query's facts -> one evidence per fact, cited by the node the fact is about (an
    FMEA entry, a related node), rendered as ``key: value`` text, the fact itself its fields."""
    evidence: dict[str, Evidence] = {}
    anchor = f"Equipment:{result.params.get('tag')}"
    for fact in result.facts:
        if isinstance(fact.get("from"), str) and isinstance(fact.get("to"), str):
            # A relation of the asset asked about is cited by the node at its other end.
            ref = fact["from"] if fact["to"] == anchor else fact["to"]
        else:
            ref = next((fact[key] for key in GRAPH_REF_KEYS if isinstance(fact.get(key), str)), None)
        if ref is None:
            continue
        fact = plain_numbers(fact)
        text = render_isolation(fact) if "isolation_point" in fact and "energy_name" in fact else render_fact(fact)
        evidence.setdefault(graph_id(ref), Evidence(graph_id(ref), "graph", text, result.name, fact))
    return list(evidence.values())


def render_fact(fact: dict[str, Any]) -> str:
    """A graph fact as ``key: value`` text, leading with what matters (the FMEA entry's own id is
    left out: it is the citation)."""
    first = {key: fact[key] for key in LEADING_KEYS if key in fact}
    rest = {key: value for key, value in fact.items() if key not in first and key != "fmea"}
    return render_fields({**first, **rest})


def render_isolation(fact: dict[str, Any]) -> str:
    """An isolation point as a technician reads it: what energy, where, how."""
    point = fact["isolation_point"].split(":", 1)[-1]
    source = fact.get("energy_source", "").rsplit("/", 1)[-1]  # E1: the LOTO procedure's own energy-source id
    return (f"{fact.get('loto', '').split(':', 1)[-1]} {source} point {fact.get('step') or '-'}: isolate "
            f"{fact['energy_name']} "
            f"({fact.get('energy_magnitude') or fact.get('energy_kind') or '-'}) at {point} "
            f"{fact.get('isolation_name') or ''}: {fact.get('method') or '-'}")  # fmt: skip


class TagArgs(BaseModel):
    tag: str = linked("tags")


class SymptomArgs(TagArgs):
    symptom: str = linked("terms")


class ModeArgs(TagArgs):
    mode: str = linked("modes")


class GraphQuery(Retriever[TagArgs]):
    """A named query of :mod:`maintgraph.graph.queries`, its arguments those of :attr:`Args`."""

    source = "graph"
    per_asset = True
    needs = ("graph",)
    Args: ClassVar[type[BaseModel]] = TagArgs
    query: ClassVar[Callable[..., QueryResult]]

    def run(self, args: TagArgs) -> list[Evidence]:
        return from_graph_result(type(self).query(self.backends.graph, **args.model_dump()))


def _symptom(question: Question) -> str | None:
    """An FMEA symptom the question names (matched by name); a failure mode lists the FMEA instead."""
    return next((c.name for c in question.failure_terms if c.label == "Symptom"), None)


def _modes(question: Question) -> list[str]:
    return [c.key for c in question.failure_terms if c.label == "FailureMode"]


class Isolation(GraphQuery):
    name = "isolation"
    description = "The LOTO procedure, energy sources and isolation points of an equipment."
    intents = frozenset(PHYSICAL)
    query = queries.isolation

    @classmethod
    def plan(cls, question: Question, tag: str | None) -> list[dict[str, Any]]:
        return [{"tag": tag}] if question.intent in PHYSICAL else []  # any physical work: isolation first


class SymptomCauses(GraphQuery):
    name = "symptom_causes"
    description = "Likely causes, checks and sensors for a symptom on an equipment (FMEA)."
    Args = SymptomArgs
    intents = frozenset({"diagnose"})
    query = queries.symptom_causes

    @classmethod
    def plan(cls, question: Question, tag: str | None) -> list[dict[str, Any]]:
        symptom = _symptom(question)
        return [{"tag": tag, "symptom": symptom}] if question.intent == "diagnose" and symptom else []


class FailureModes(GraphQuery):
    name = "failure_modes"
    description = "The failure modes an equipment's FMEA lists, with causes and RPN."
    intents = frozenset({"diagnose"})
    query = queries.failure_modes

    @classmethod
    def plan(cls, question: Question, tag: str | None) -> list[dict[str, Any]]:
        return [{"tag": tag}] if question.intent == "diagnose" and not _symptom(question) else []


class FailureModeFix(GraphQuery):
    name = "failure_mode_fix"
    description = "The procedure, isolation, parts and hazards that fix a failure mode."
    Args = ModeArgs
    intents = frozenset({"diagnose", "procedure"})
    query = queries.failure_mode_fix

    @classmethod
    def plan(cls, question: Question, tag: str | None) -> list[dict[str, Any]]:
        wanted = question.intent in ("diagnose", "procedure")
        return [{"tag": tag, "mode": mode} for mode in _modes(question)[:1]] if wanted else []


class SharedComponents(GraphQuery):
    name = "shared_components"
    description = "Other equipment fitted with the same spare parts."
    intents = frozenset({"diagnose", "procedure", "parts"})
    query = queries.shared_components

    @classmethod
    def plan(cls, question: Question, tag: str | None) -> list[dict[str, Any]]:
        return [{"tag": tag}] if SHARED.search(question.question) else []


class EquipmentNeighbourhood(GraphQuery):
    name = "equipment_neighbourhood"
    description = "An equipment's components, fitted parts, sensors and drive train."
    intents = frozenset({"diagnose", "procedure", "parts", "work_order"})
    query = queries.equipment_neighbourhood

    @classmethod
    def plan(cls, question: Question, tag: str | None) -> list[dict[str, Any]]:
        # components, parts, sensors, drive train; a history or analytic question is answered by its records
        return [{"tag": tag}] if question.intent not in ("history", "analytics") else []
