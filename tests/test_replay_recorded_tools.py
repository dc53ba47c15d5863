"""Replaying with recorded tools: each call the replay makes is answered from the recording of
the same call, however the plan spelt its arguments (a default left out is the same call)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from maintgraph.agent.traces import trace_of
from maintgraph.evals.replay import recorded_key, recorded_retrievers
from maintgraph.retrieval.analytics.retriever import FMEAAnalytics
from maintgraph.retrieval.base import Evidence, Question, Retriever
from maintgraph.retrieval.registry import Retrievers


class LimitArgs(BaseModel):
    tag: str
    unit: str | None = None  # optional: the plan leaves it out
    tripped_only: bool = False


class SensorLimits(Retriever[LimitArgs]):
    name = "sensor_limits"
    source = "graph"
    description = "Alarm and trip limits of an equipment's sensors."
    Args = LimitArgs

    @classmethod
    def plan(cls, question: Question, tag: str | None) -> list[dict[str, Any]]:
        return [{"tag": "P-101"}]

    def run(self, args: LimitArgs) -> list[Evidence]:
        return [Evidence("graph:Sensor:TT-101-DE", "graph", "alarm_high: 85; trip_high: 95", "sensor limits",
                         {"alarm_high": 85.0, "trip_high": 95.0})]  # fmt: skip


def recorded_turn(live: Retrievers, calls: list[Any]) -> Any:
    done = live.run(calls)
    values = {"question": "What are the alarm and trip settings on TT-101-DE?", "evidence": done.evidence,
              "records": done.records}  # fmt: skip
    return trace_of(values, "t-1", datetime.now(UTC), 0.1, "answered", {}), done


def test_a_call_planned_without_its_defaults_is_found_in_the_recording() -> None:
    live = Retrievers({"sensor_limits": SensorLimits(Retrievers().backends)}, [SensorLimits])
    planned = [SensorLimits.call(tag="P-101")]  # as the plan makes it: unit and tripped_only left out
    trace, done = recorded_turn(live, planned)
    assert not done.not_checked

    replayed = recorded_retrievers(trace, live).run(planned)

    assert replayed.not_checked == []
    assert [r.error for r in replayed.records] == [None]
    assert [(e.id, e.kind, e.title, e.text, e.fields) for e in replayed.evidence] == [
        (e.id, e.kind, e.title, e.text, e.fields) for e in done.evidence
    ]


def test_the_fmea_analytics_call_of_a_lookup_question_replays_from_the_recording() -> None:
    # The call of the regression gate's TT-101-DE turn: recorded without query=None, which the
    # replay used to look up with it and so answered "not in the recording" (a note in the answer).
    recorded = "graph.fmea_analytics(grounded_only=True, question='What are the alarm and trip settings on TT-101-DE?')"
    args = FMEAAnalytics.Args.model_validate({"grounded_only": True, "question": recorded.split("'")[1]})
    assert recorded_key(FMEAAnalytics, recorded) == str(FMEAAnalytics.call(**args.model_dump()))
    assert recorded_key(FMEAAnalytics, "docs.search(query='x', tags=())") is None  # another retriever's call
    assert recorded_key(FMEAAnalytics, "graph.fmea_analytics(question=<object>)") is None  # not readable


def test_a_call_the_recording_does_not_hold_is_still_reported() -> None:
    live = Retrievers({"sensor_limits": SensorLimits(Retrievers().backends)}, [SensorLimits])
    trace, _ = recorded_turn(live, [SensorLimits.call(tag="P-101")])

    replayed = recorded_retrievers(trace, live).run([SensorLimits.call(tag="P-102")])

    assert replayed.evidence == []
    assert len(replayed.not_checked) == 1 and "is not in the recording" in replayed.not_checked[0]
