"""Intent read from the question's form, and a reading in the question against its sensor's limits.

- A question about work orders (when, what was done, how many, any open) is answered from the
  records; only a request to raise one drafts one, and a model's choice to draft is overruled.
- "P-101 drive-end vibration reads 8 mm/s. Is that a problem?" is answered by where 8 mm/s stands
  against VT-101-DE's 7.1 mm/s alarm and 11 mm/s trip, on the sample plant's graph and on a graph
  of another shape (a compressor whose sensor sheet is in °F, psi and in/s), on both engines.
"""

from __future__ import annotations

import uuid

import pytest

from maintgraph.agent.routing import judge
from maintgraph.agent.understand import Understanding, classify, requests_work_order, understand
from maintgraph.agent.work_order import asked_for, draft_from
from maintgraph.graph.falkordb import FalkorDBStore
from maintgraph.graph.linking import Candidate, EntityLinker
from maintgraph.graph.loaders import load_paths
from maintgraph.retrieval.base import Backends
from maintgraph.retrieval.readings import (
    TITLE,
    UNITS,
    ReadingCheck,
    convert,
    find_readings,
    standing,
    unit_of,
)
from maintgraph.retrieval.registry import Retrievers, build_retrievers

from .conftest import REPO

# -- asking about work orders, or asking for one -----------------------------------------------------------

# Requests: an imperative (after "please", "can you", "I need...") whose verb creates a work order.
REQUESTS = [
    "Raise a work order for the hot bearing on P-101",
    "please open a WO to replace the seal on P-102",
    "can you log a job for the XV-201 actuator, it's sticking",
    "P-101 DE bearing is running hot, raise a work order",
    "Could you create a corrective work order for M-201? It keeps tripping on overload.",
    "I need a work order for the P-502 NDE bearing",
    "Open a new WO on HX-301 for a plate pack clean",
    "Can I get a WO raised for the T-401 level transmitter?",
    "Seal on P-102 is leaking - please log a job",
    "Would you raise an urgent work order on P-401? Diaphragm leak alarm.",
    "Vibration on P-101 is 8 mm/s and rising, can you open a job for it?",
    "When was the last WO on P-101? Raise another one for the seal.",
    # written after the rule, never tuned on
    "pls raise a wo on p-101 for the noisy coupling",
    "Could we get a job card raised for the M-403 isolator?",
    "Need a WO raised for the P-301 seal",
    "Right, log a job for the V-501 bladder please",
    "The XV-201 solenoid is buzzing. Please raise a job.",
    "Hey, could you write up a WO for the LT-501 transmitter?",
    "I want to log a work order for the AG-401 steady bush",
    "Draft me a WO: P-102 mech seal weeping",
    # a third set, written later: 5 of its 10 requests were missed before the rule learnt them
    "Please can you raise a WO for the M-101 cooling fan",
    "Raise a CM on P-102 for the seal",
    "We'll need a work order for the AG-401 gearbox oil change",
    "Would you be able to raise a work order for P-201?",
    "Put a job in for the V-201 auto drain please",
    "Open up a WO on M-403, it won't start",
]
# Questions about work orders: answered from the records, never a draft.
QUESTIONS = [
    "When was the last corrective work order on P-101 and what was done?",
    "Any open work orders on P-102?",
    "Open work orders on P-102?",
    "How many work orders has P-101 had this year?",
    "What's the status of the work order for the P-101 seal?",
    "Has anyone raised a work order for the P-101 DE bearing?",
    "Did someone open a WO on P-102 last week?",
    "Do we have an open work order on P-102?",
    "How do I raise a work order in the CMMS?",
    "Log the vibration reading against the work order for P-101",
    # written after the rule, never tuned on
    "what work orders are open on m-201",
    "When did we last raise a job on XV-201?",
    "How many WOs were raised on P-402 last year?",
    "Has a work order been opened for the P-501 vibration?",
    "Is the V-201 PSV work order still open?",
    "Any WOs outstanding on AG-401?",
    "Open WOs for P-101 and P-102?",
    "Which work order replaced the P-101 DE bearing, and when?",
    # the third set: none of its 10 questions was taken for a request
    "Did the last work order on P-101 fix the vibration?",
    "Why was the P-102 seal work order raised?",
    "Are any work orders waiting for approval on M-201?",
    "Can you tell me what the last work order on V-501 found?",
    "Could you list the open WOs on the raw water pumps?",
    "Show the open jobs on AG-401",
]


@pytest.mark.parametrize("question", REQUESTS)
def test_a_request_to_raise_a_work_order_drafts_one(question):
    assert requests_work_order(question) and classify(question) == "work_order"


@pytest.mark.parametrize("question", QUESTIONS)
def test_a_question_about_work_orders_is_answered_from_the_records(question):
    assert not requests_work_order(question)
    assert classify(question) not in ("work_order", "parts")
    if "how do i" not in question.lower():
        assert classify(question) == "history"


@pytest.mark.parametrize(
    ("question", "intent"),
    [
        # Making a machine safe is isolating it, whatever the word for it.
        ("Changing the relief valve on K-7. How do I make the receiver safe?", "procedure"),
        ("Is the agitator safe to work on once the drive is stopped?", "procedure"),
        # A setting asked for, no symptom: a lookup, not troubleshooting (no isolation block first).
        ("What alarm and trip currents are set on IT-M7 for the chiller compressor motor?", "general"),
        ("CWC-04 bearing temperature: what are the alarm and trip setpoints?", "general"),
        # A symptom or a cause asked for keeps it troubleshooting.
        ("CH-6 tripped on high discharge temperature, what is the trip setting?", "diagnose"),
        ("Motor winding temperature alarm with unequal phase currents. What's the cause and the trip limit?",
         "diagnose"),
    ],
)  # fmt: skip
def test_intent_reads_what_is_asked_not_the_alarm_words(question, intent):
    assert classify(question) == intent


def test_a_models_choice_to_draft_is_overruled():
    asked = Understanding("When was the last corrective work order on P-101 and what was done?", "history")
    verdict = judge(Retrievers(), "draft_work_order", {"tag": "P-101"}, asked, [])
    assert verdict.verdict == "rejected" and "does not ask to raise one" in verdict.reason and verdict.call is None
    wanted = Understanding("Raise a work order for the hot bearing on P-101", "work_order")
    assert judge(Retrievers(), "create_work_order", {}, wanted, []).verdict == "rejected"  # drafted by the graph


def test_a_draft_describes_the_job_asked_for_not_the_whole_question():
    assert asked_for("please open a WO to replace the seal on P-102") == "replace the seal on P-102"
    assert asked_for("Raise a work order for the hot bearing on P-101") == "hot bearing on P-101"
    assert asked_for("P-101 needs looking at") == "P-101 needs looking at"


def test_a_drafts_long_text_holds_the_request_and_what_was_reported_about_that_asset():
    agitator = [Candidate("Equipment", "AG-901", "Slurry tank agitator", 100, "AG-901")]
    history = [
        {"question": "AG-901 gearbox is growling and the oil is at 99 C, what should I check?", "intent": "diagnose",
         "answer": "", "tags": ["AG-901"]},
        {"question": "Do we have a spare gearbox oil seal for AG-901 in stores?", "intent": "parts", "answer": "",
         "tags": ["AG-901"]},
        {"question": "M-911 is tripping on overload, why?", "intent": "diagnose", "answer": "", "tags": ["M-911"]},
    ]  # fmt: skip
    asked = Understanding("Raise a work order to change the gearbox oil seal on AG-901", "work_order",
                          equipment=agitator)  # type: ignore[arg-type]  # fmt: skip
    draft = draft_from(asked, history)  # type: ignore[arg-type]
    assert draft.asset_tag == "AG-901" and "change the gearbox oil seal" in draft.description
    assert draft.long_text == (
        "Raised from the maintenance assistant. Requested: Raise a work order to change the gearbox oil seal on "
        "AG-901. Technician reported: AG-901 gearbox is growling and the oil is at 99 C, what should I check?"
    )  # not the stores question, not another asset's trouble


# -- readings in the question ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "readings"),
    [
        ("P-101 drive-end vibration reads 8 mm/s. Is that a problem?", [(8.0, "mm/s")]),
        ("TT-101-DE is showing 83 °C.", [(83.0, "°C")]),
        ("M-101 winding at 135C, ok?", [(135.0, "°C")]),
        ("bearing temp 185 deg F", [(185.0, "°F")]),
        ("Compressor discharge 120 psi, DE bearing 0.35 in/s and 180 F", [(120, "psi"), (0.35, "in/s"), (180, "°F")]),
        ("HX-301 dP is 85 kPa", [(85.0, "kPa")]),
        ("pressure 4,5 bar", [(4.5, "bar")]),
        ("M-201 drawing 98.5 A", [(98.5, "A")]),
        ("T-401 level at 93%", [(93.0, "%")]),
        ("flow is 40 l/min, speed 1450 rpm", [(40.0, "l/min"), (1450.0, "rpm")]),
        ("free chlorine reading 1.8 ppm", [(1.8, "mg/L")]),
        ("gearbox oil is at 92°, ok?", [(92.0, "°")]),
        # set, rated or changed, not read
        ("Can I wind the relief valve up to 12 bar so it stops?", []),
        ("The vibration alarm is set at 7.1 mm/s", []),
        ("P-101 is a 96 kW pump", []),
        ("P-101 vibration is up by 2 mm/s", []),
        ("Fit the 6312 C3 bearing", []),
        ("How many work orders did P-101 have in 2025?", []),
    ],
)
def test_readings_are_read_with_their_units(question, readings):
    assert [(r.value, r.unit.symbol) for r in find_readings(question)] == readings


def test_units_convert_to_the_sensors_unit():
    assert convert(180, UNITS["°F"], unit_of("°C")) == pytest.approx(82.22, abs=0.01)
    assert convert(65, UNITS["psi"], unit_of("bar")) == pytest.approx(4.48, abs=0.01)
    assert convert(0.3, UNITS["in/s"], unit_of("mm/s")) == pytest.approx(7.62)
    assert convert(450, UNITS["kPa"], unit_of("bar")) == pytest.approx(4.5)
    assert convert(200, UNITS["mbar"], unit_of("kPa")) == pytest.approx(20)
    assert convert(30, UNITS["l/min"], unit_of("m3/h")) == pytest.approx(1.8)
    assert convert(8, UNITS["mm/s"], unit_of("bar")) is None  # across quantities: no comparison
    assert unit_of("degF") is unit_of("°F") and unit_of("PSI") is unit_of("psi") and unit_of("furlongs") is None


def test_where_a_reading_stands():
    assert standing(8, 7.1, 11, "mm/s") == ("above its alarm (7.1 mm/s) and below its trip (11 mm/s)",
                                            "plan a check soon, not a stop")  # fmt: skip
    assert standing(5, 7.1, 11, "mm/s") == ("below its alarm (7.1 mm/s) and trip (11 mm/s)", "within limits")
    assert standing(6.8, 7.1, 11, "mm/s")[0].startswith("just below")
    assert standing(11, 7.1, 11, "mm/s")[0] == "at its trip (11 mm/s)"
    assert standing(96, 85, 95, "°C")[0] == "above its trip (95 °C)"
    assert standing(3, None, None, "bar")[0] == "not comparable"


def _seen(question: str, tags: list[str], intent: str = "diagnose") -> Understanding:
    return Understanding(question, intent, equipment=[Candidate("Equipment", t, t, 100.0, t) for t in tags])  # type: ignore[arg-type]


def test_the_plan_checks_a_reading_only_when_there_is_one_and_something_to_check_it_on():
    plan = ReadingCheck.plan(_seen("P-101 drive-end vibration reads 8 mm/s. Is that a problem?", ["P-101"]), None)
    assert plan == [{"tag": "P-101", "readings": ("8 mm/s",), "words": (("p-101", "drive-end"),), "asked": True}]
    assert ReadingCheck.plan(_seen("P-101 DE bearing running hot", ["P-101"]), None) == []
    assert ReadingCheck.plan(_seen("raise a WO, P-101 at 8 mm/s", ["P-101"], "work_order"), None) == []
    assert ReadingCheck.plan(_seen("vibration is at 8 mm/s", []), None) == []  # no asset, no sensor named
    assert ReadingCheck.model_callable() is False  # planned by rule only: its reading is no linked entity


# -- on the sample plant's graph ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plant_graph(running_services):
    graph = FalkorDBStore(running_services.services.falkordb.client(), f"readings_{uuid.uuid4().hex[:8]}")
    graph.ensure_schema()
    load_paths(graph, [REPO / "data" / "plant"])
    yield graph
    graph.clear()


def check(graph, question: str, linker: EntityLinker | None = None):
    """The reading check's evidence for ``question``, understood and planned as the agent does."""
    registry = build_retrievers(Backends(graph=graph))
    seen = understand(question, linker or EntityLinker.from_store(graph))
    done = registry.run([c for c in registry.plan(seen) if c.name == "reading_check"])
    assert not done.not_checked, done.not_checked
    return {e.id: e for e in done.evidence}


@pytest.fixture(scope="module")
def plant_linker(plant_graph):
    return EntityLinker.from_store(plant_graph)


def test_the_issues_reading_is_placed_between_the_alarm_and_the_trip(plant_graph, plant_linker):
    linker = plant_linker
    question = "P-101 drive-end vibration reads 8 mm/s. Is that a problem?"
    seen = understand(question, linker)
    planned = [c.name for c in build_retrievers(Backends(graph=plant_graph)).plan(seen)]
    assert planned.index("reading_check") < planned.index("isolation")  # first of the graph's calls
    (evidence,) = check(plant_graph, question, linker).values()
    assert evidence.id == "graph:Sensor:VT-101-DE" and evidence.title == TITLE
    assert evidence.text == (
        "8 mm/s on VT-101-DE (P-101 drive-end bearing vibration) is above its alarm (7.1 mm/s) and below its "
        "trip (11 mm/s): plan a check soon, not a stop."
    )


@pytest.mark.parametrize(
    ("question", "cited", "says"),
    [
        ("P-101 NDE vibration is 5 mm/s, ok?", "graph:Sensor:VT-101-NDE", "below its alarm (7.1 mm/s) and trip"),
        ("P-101 vibration at 8 mm/s, is that bad?", "graph:Sensor:VT-101-DE", "of VT-101-DE and VT-101-NDE"),
        ("P-101 DE bearing temperature 92 C, should I worry?", "graph:Sensor:TT-101-DE", "above its alarm (85 °C)"),
        ("TT-101-DE is showing 200 °F, is that high?", "graph:Sensor:TT-101-DE", "200 °F (93.33 °C)"),
        ("M-101 winding temperature is 150 C", "graph:Sensor:TT-M101-WDG", "above its trip (145 °C)"),
        ("AG-401 gearbox oil is at 92°, ok?", "graph:Sensor:TT-AG401-GBX", "92° (92 °C) on TT-AG401-GBX"),
        ("P-101 motor winding reads 135 C, is that ok?", "graph:Sensor:TT-M101-WDG", "above its alarm (130 °C)"),
        ("P-501 NDE vibration is 5 mm/s, a problem?", "graph:Sensor:VT-501-DE", "has no non-drive-end sensor"),
        ("HX-301 dP is 85 kPa, is that high?", "graph:Sensor:PDI-301", "above its alarm (70 kPa)"),
        ("V-201 receiver pressure reads 130 psi. Is that too high?", "graph:Sensor:PT-201", "130 psi (8.96 bar)"),
        ("P-101 discharge pressure reads 4.5 bar, is that normal?", "graph:Equipment:P-101", "no sensor measuring"),
        ("HX-301 at 4 bar, is that ok?", "graph:Equipment:HX-301", "its sensors measure differential pressure"),
        ("T-501 level reads 96 %, is that high?", "graph:Sensor:LT-501", "above its alarm (95 %)"),
        ("T-501 runs at 96 % of the time, is that ok?", "graph:Equipment:T-501", "no sensor measuring percent"),
        ("XV-201 stroke took 25 s, is that ok?", "graph:Sensor:ZT-201-STK", "above its alarm (20 s)"),
        ("P-101 winding reads 135 C, is that ok?", "graph:Sensor:TT-M101-WDG", "above its alarm (130 °C)"),
        ("M-501 bearing is at 90 C, ok?", "graph:Equipment:M-501", "no sensor measuring bearing temperature"),
    ],
)
def test_readings_on_the_sample_plant(plant_graph, plant_linker, question, cited, says):
    found = check(plant_graph, question, plant_linker)
    assert list(found) == [cited] and says in found[cited].text, found


def test_two_readings_of_one_sensor_make_one_sentence_on_the_last(plant_graph, plant_linker):
    found = check(plant_graph, "P-101 DE vibration was 6 mm/s yesterday and is 8 mm/s now, is that bad?", plant_linker)
    assert list(found) == ["graph:Sensor:VT-101-DE"]
    assert found["graph:Sensor:VT-101-DE"].text.startswith("8 mm/s (after 6 mm/s) on VT-101-DE")
    both = check(plant_graph, "P-101 DE bearing: vibration 8 mm/s and temperature 92 C. OK?", plant_linker)
    assert list(both) == ["graph:Sensor:VT-101-DE", "graph:Sensor:TT-101-DE"]
    assert "92 °C on TT-101-DE" in both["graph:Sensor:TT-101-DE"].text


def test_a_figure_mentioned_in_passing_adds_nothing(plant_graph, plant_linker):
    assert (
        check(plant_graph, "HX-301 is dripping. Can I nip up the bolts with it in service at 4 bar?", plant_linker)
        == {}
    )


# -- on a graph of another shape, on both engines ----------------------------------------------------------

AGITATOR = {
    "assets.csv": "site_id,system_id,tag,name,class_code,driven_by\n"
    "WKS,WKS-SLY,AG-901,Slurry tank agitator,AG,M-911\nWKS,WKS-SLY,M-911,Agitator motor,EM,\n",
    "components.csv": "tag,subunit,component,component_name\n"
    "AG-901,Power transmission,BRG-DE,Drive-end bearing\nAG-901,Power transmission,GBX,Gearbox\n"
    "AG-901,Shaft,SEAL,Shaft seal\n",
    # another plant's sensor sheet: other column names, US units, a sensor on the equipment itself
    "instruments.csv": "Instrument Tag,Equipment,Component Code,Description,Measurement,UOM,High Alarm,High Trip\n"
    "PT-AG901-SEAL,AG-901,SEAL,AG-901 seal barrier pressure,pressure,psi,125,140\n"
    "VT-AG901-DE,AG-901,BRG-DE,AG-901 drive-end bearing vibration,vibration velocity,in/s,0.3,0.45\n"
    "TT-AG901-GBX,AG-901,GBX,AG-901 gearbox oil temperature,oil temperature,degF,190,210\n"
    "IT-M911,M-911,,M-911 motor current,current,A,52,58\n",
}


@pytest.fixture
def agitator_graph(graph_store, tmp_path):
    for name, text in AGITATOR.items():
        (tmp_path / name).write_text(text)
    load_paths(graph_store, [tmp_path])
    return graph_store


def test_a_sensor_named_by_its_id_is_about_the_equipment_it_monitors(agitator_graph):
    linker = EntityLinker.from_store(agitator_graph)
    seen = understand("IT-M911 keeps alarming on the agitator, what does it measure and when does it trip?", linker)
    assert seen.tags == ["M-911"] and not seen.unknown_tags  # not "there is no asset IT-M911"
    through_a_component = understand("What does VT-AG901-DE measure?", linker)
    assert through_a_component.tags == ["AG-901"]
    assert understand("What does XT-999 measure?", linker).unknown_tags  # an id the plant does not have


def test_readings_on_another_plant_in_other_units(agitator_graph):
    linker = EntityLinker.from_store(agitator_graph)
    cases = {
        "AG-901 seal pressure reads 9.2 bar, is that a problem?": (
            "graph:Sensor:PT-AG901-SEAL", "9.2 bar (133.43 psi) on PT-AG901-SEAL (AG-901 seal barrier pressure) is "
            "above its alarm (125 psi) and below its trip (140 psi)"),
        "AG-901 DE bearing vibration 6 mm/s, ok?": (
            "graph:Sensor:VT-AG901-DE", "6 mm/s (0.24 in/s) on VT-AG901-DE (AG-901 drive-end bearing vibration) is "
            "below its alarm (0.3 in/s) and trip (0.45 in/s): within limits"),
        "AG-901 gearbox oil at 99 C, too hot?": ("graph:Sensor:TT-AG901-GBX", "99 °C (210.2 °F)"),
        "AG-901 motor current is 60 A, is that ok?": ("graph:Sensor:IT-M911", "above its trip (58 A)"),
        "AG-901 discharge pressure 3 bar, ok?": ("graph:Equipment:AG-901", "no sensor measuring discharge pressure"),
    }  # fmt: skip
    for question, (cited, says) in cases.items():
        found = check(agitator_graph, question, linker)
        assert list(found) == [cited] and says in found[cited].text, (question, found)
