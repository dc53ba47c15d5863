"""The model phrases, the composer guarantees (issue 28): where a reading stands is said first,
a model sentence that fails the citation check falls back to the composer's sentence, and the
model is skipped when it would not finish within the time budget. Model-free: a canned draft is
fed through the real synthesis functions."""

from __future__ import annotations

from maintgraph.agent.synthesis import finish
from maintgraph.retrieval.base import Evidence
from maintgraph.retrieval.readings import TITLE as READING_CHECK
from tests.test_compose import SAMPLE_PLANT, pump_question

READING = Evidence(
    "graph:Sensor:VT-101-DE",
    "graph",
    "8 mm/s on VT-101-DE (P-101 drive-end bearing vibration) is above its alarm (7.1 mm/s) and below its "
    "trip (11 mm/s): plan a check soon, not a stop.",
    READING_CHECK,
)


def test_where_the_reading_stands_comes_right_after_isolation_or_first():
    question = "P-101 drive-end vibration reads 8 mm/s. Is that a problem?"
    text = finish("", [*SAMPLE_PLANT, READING], pump_question(question), []).text
    blocks = text.split("\n\n")
    assert blocks[0].startswith("Isolate first") and blocks[1].startswith("8 mm/s on VT-101-DE"), text
    lookup = finish("", [*SAMPLE_PLANT[:3], READING], pump_question(question, "general"), []).text
    assert lookup.startswith("8 mm/s on VT-101-DE") and lookup.split("\n\n")[0].endswith("[graph:Sensor:VT-101-DE]")
