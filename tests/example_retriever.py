"""An example retriever, written as a plant would add one: the alarm and trip limits of the
sensors on an equipment. Adding it to the agent is this module and one registry line."""

from __future__ import annotations

import re
from typing import Any

from maintgraph.citations import graph_id
from maintgraph.retrieval.base import Evidence, Question, Retriever, render_fields
from maintgraph.retrieval.knowledge_graph import TagArgs

LIMITS = re.compile(r"\b(alarm|trip|limits?|set ?points?)\b", re.I)
SENSORS = """
MATCH (s:Sensor)-[:MONITORS]->(:Equipment {tag: $tag})
RETURN s.id AS id, s.name AS name, s.unit AS unit, s.alarm_high AS alarm_high, s.trip_high AS trip_high
UNION
MATCH (s:Sensor)-[:MONITORS]->(:Component)<-[:HAS_COMPONENT]-(:Subunit)<-[:HAS_SUBUNIT]-(:Equipment {tag: $tag})
RETURN s.id AS id, s.name AS name, s.unit AS unit, s.alarm_high AS alarm_high, s.trip_high AS trip_high
"""


class SensorLimits(Retriever[TagArgs]):
    name = "sensor_limits"
    source = "graph"
    description = "The alarm and trip limits of the sensors on an equipment and its components."
    Args = TagArgs
    intents = frozenset({"diagnose"})
    per_asset = True
    needs = ("graph",)

    @classmethod
    def plan(cls, question: Question, tag: str | None) -> list[dict[str, Any]]:
        return [{"tag": tag}] if LIMITS.search(question.question) else []

    def run(self, args: TagArgs) -> list[Evidence]:
        rows = sorted(self.backends.graph.read(SENSORS, {"tag": args.tag}), key=lambda row: row["id"])
        return [Evidence(graph_id(f"Sensor:{row['id']}"), "graph", render_fields(row), self.name) for row in rows]
