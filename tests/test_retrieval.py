"""The retriever registry as the agent's one extension point, and the one citation grammar the
agent's check and the grounded guard share."""

from __future__ import annotations

import uuid
from dataclasses import replace

from maintgraph.agent.routing import judge
from maintgraph.agent.synthesis import check_citations
from maintgraph.agent.understand import understand
from maintgraph.guardrails.grounded import find_ungrounded
from maintgraph.retrieval.base import Backends, Evidence
from maintgraph.retrieval.registry import RETRIEVERS, Retrievers, build_retrievers

from .example_retriever import SensorLimits

QUESTION = "P-101 tripped on high vibration: what are the alarm and trip limits?"


def test_a_new_retriever_is_planned_offered_judged_and_run_by_the_agent(assistant):
    """One module (tests/example_retriever.py) and one registry line: the plan calls it, the
    model is offered it, the router judges it, and the agent's answer carries its evidence."""
    from maintgraph.agent.session import Assistant

    context = assistant.context
    extended = context.retrievers.extended(SensorLimits)  # the one registry line: RETRIEVERS + [SensorLimits]
    seen = understand(QUESTION, context.linker)
    planned = extended.plan(seen)
    assert "graph.sensor_limits(tag='P-101')" in [str(c) for c in planned]
    assert "sensor_limits" not in [c.name for c in context.retrievers.plan(seen)]  # not there before
    offered = {tool.name: tool.spec()["function"]["parameters"] for tool in extended.offered_tools(seen)}
    assert offered["sensor_limits"]["properties"]["tag"].get("enum", [None])[0] in ("P-101", None)
    assert judge(extended, "sensor_limits", {"tag": "P-101"}, seen, planned).verdict == "agrees"
    assert judge(extended, "sensor_limits", {"tag": "P-999"}, seen, planned).verdict == "rejected"

    agent = Assistant(replace(context, retrievers=extended), assistant.graph.checkpointer)
    result = agent.ask(QUESTION, f"t-{uuid.uuid4().hex[:8]}")
    assert "graph.sensor_limits(tag='P-101')" in result.tool_calls
    limits = {e["id"]: e["text"] for e in result.evidence if e["id"].startswith("graph:Sensor:")}
    assert "graph:Sensor:VT-101-DE" in limits and "trip_high: 11.0" in limits["graph:Sensor:VT-101-DE"]


def test_a_retriever_whose_backend_is_missing_is_planned_and_reported_as_not_checked():
    registry = build_retrievers(Backends())  # nothing configured
    assert list(registry) == [] and [k.name for k in registry.kinds] == [k.name for k in RETRIEVERS]
    done = registry.run([SensorLimits.call(tag="P-101")])
    assert done.not_checked == ["graph sensor_limits: no such tool"] and done.evidence == []


def test_bad_arguments_are_refused_by_the_retrievers_own_model():
    from maintgraph.retrieval.knowledge_graph import Isolation

    registry = Retrievers().replaced(Isolation(Backends()))
    done = registry.run([Isolation.call(tag=None)])
    assert len(done.not_checked) == 1 and done.not_checked[0].startswith("graph isolation:")
    assert "tag" in done.not_checked[0]


EVIDENCE = [
    Evidence(
        "graph:Sensor:VT-101-DE", "graph", "name: P-101 DE vibration; unit: mm/s; alarm_high: 7.1; trip_high: 11.0"
    ),
    Evidence("wo:WO-25-00077", "wo", "WO-25-00077 on P-101: CM CLOSE, reported 2025-05-20: DE BRG TEMP 88C"),
]
ANSWERS = [
    "The DE vibration alarm is 7.1 mm/s and the trip 11.0 mm/s [graph:Sensor:VT-101-DE].",
    "The trip is 15 mm/s [graph:Sensor:VT-101-DE].",  # a number the cited evidence does not hold
    "It ran at 88 C in May 2025 [wo:WO-25-00077]. It was replaced in 2019 [wo:WO-19-00001].",
    "- 1. Isolate the motor first.\n- 2. Check the coupling [wo:WO-25-00077].",  # step numbers state nothing
    "P-101 runs at 2950 rpm. Check the relief plug first.",
    "Alarm 7.1, trip 11.0 and last failure in 2025 [graph:Sensor:VT-101-DE] [wo:WO-25-00077].",
]


def test_the_agents_citation_check_and_the_grounded_guard_apply_one_rule():
    """What the agent's check leaves out of a model's answer is exactly what the guard finds."""
    texts = {e.id: e.text for e in EVIDENCE}
    for answer in ANSWERS:
        removed = [claim for claim, _ in check_citations(answer, EVIDENCE).removed]
        found = [answer[f.start : f.end].strip() for f in find_ungrounded(answer, texts)]
        assert removed == found, answer
    assert check_citations(ANSWERS[0], EVIDENCE).grounded and check_citations(ANSWERS[3], EVIDENCE).grounded
    assert check_citations(ANSWERS[5], EVIDENCE).grounded  # a run of citations covers the claim before it
    wrong = check_citations(ANSWERS[1], EVIDENCE)
    assert wrong.removed == [(ANSWERS[1], "quotes 15, which the evidence it cites does not")]
    mixed = check_citations(ANSWERS[2], EVIDENCE)
    assert mixed.kept == ["It ran at 88 C in May 2025 [wo:WO-25-00077]."]
    assert mixed.removed[0][1] == "cites wo:WO-19-00001, which was not retrieved"
    uncited = check_citations(ANSWERS[4], EVIDENCE)
    assert uncited.kept == ["Check the relief plug first."] and uncited.answer.startswith("Check the relief plug")
