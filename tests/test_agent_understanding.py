"""The agent's deterministic half: understanding questions about the sample plant, and the
citation check that keeps the answer to what the evidence supports."""

from __future__ import annotations

import uuid

import pytest

from maintgraph.agent.synthesis import check_citations
from maintgraph.agent.understand import classify, understand
from maintgraph.graph.falkordb import FalkorDBStore
from maintgraph.graph.linking import EntityLinker
from maintgraph.graph.loaders import load_paths
from maintgraph.retrieval.base import Call, Evidence
from maintgraph.retrieval.registry import Retrievers

from .conftest import REPO

KNOWN = Retrievers()  # every retriever kind, none configured: what the plan and the router read


@pytest.fixture(scope="module")
def plant_graph(running_services):
    graph = FalkorDBStore(running_services.services.falkordb.client(), f"agent_{uuid.uuid4().hex[:8]}")
    graph.ensure_schema()
    load_paths(graph, [REPO / "data" / "plant"])
    yield graph
    graph.clear()


@pytest.fixture(scope="module")
def linker(plant_graph):
    return EntityLinker.from_store(plant_graph)


@pytest.mark.parametrize(
    ("question", "intent"),
    [
        ("P-101 drive-end bearing is running hot after greasing, what should I check?", "diagnose"),
        ("Why does the seal on pump 102 keep leaking?", "diagnose"),
        ("How do I isolate P-201 before changing the coupling?", "procedure"),
        ("What is the LOTO for the backwash pump?", "procedure"),
        ("When was the last PM on P-401?", "history"),
        ("How many times has the P-102 seal been replaced?", "history"),
        ("Do we have a 6312 bearing in stores?", "parts"),
        ("Is SEAL-MS-55 in stock?", "parts"),
        ("Raise a work order for the P-101 DE bearing", "work_order"),
        ("Please draft a job to re-torque the XV-201 actuator bolts", "work_order"),
        ("Who manufactures the distribution pumps?", "general"),
        ("Anything open on P-401 right now?", "history"),
        ("When were the HX-301 plates last opened and cleaned?", "history"),
        ("Has the M-502 heater ever failed?", "history"),
        ("XV-201 slow to open on every backwash, what's failing?", "diagnose"),  # "open on every" is no history
    ],
)
def test_intents(question, intent):
    assert classify(question) == intent


def test_equipment_parts_and_failure_terms_are_linked(linker):
    seen = understand("pump 101 drive end bearing running hot, do we have BRG-6312-C3?", linker)
    assert seen.tags == ["P-101"] and [p.key for p in seen.parts] == ["BRG-6312-C3"]
    assert seen.intent == "parts" and seen.unknown_tags == {}
    hot = understand("M-101 is overheating and trips", linker)
    assert hot.tags == ["M-101"] and hot.intent == "diagnose"
    assert {c.label for c in hot.failure_terms} & {"FailureMode", "Symptom", "FailureMechanism"}


def test_a_tag_that_names_no_asset_is_reported_with_the_nearest_real_ones(linker):
    seen = understand("P-105 is vibrating badly", linker)
    assert seen.tags == [] and list(seen.unknown_tags) == ["P-105"]
    assert {c.key for c in seen.unknown_tags["P-105"]} & {"P-101", "P-102"}


EVIDENCE = [
    Evidence("doc:nfw-plant-docs:manuals/p101.md#12", "doc", "Give the DE bearing 20 g of EP2 grease."),
    Evidence(
        "wo:WO-25-00077",
        "wo",
        "WO-25-00077 on P-101: CM CLOSE, reported 2025-05-20, finished 2025-05-20, "
        "code OHE: P-101 DE BRG TEMP 88C AFTR PM - OVERGREASED?? PURGED",
    ),
]


def test_supported_sentences_stay_and_invented_ones_go():
    answer = (
        "Give the drive-end bearing 20 g of EP2 grease [doc:nfw-plant-docs:manuals/p101.md#12]. "
        "The same symptom was overgreasing in May 2025 [wo:WO-25-00077]. "
        "The bearing was replaced in 2019 [wo:WO-19-00001]. "
        "P-101 runs at 2950 rpm. "
        "Check the relief plug first.\nCall the supervisor if unsure."
    )
    check = check_citations(answer, EVIDENCE)
    assert check.kept == [
        "Give the drive-end bearing 20 g of EP2 grease [doc:nfw-plant-docs:manuals/p101.md#12].",
        "The same symptom was overgreasing in May 2025 [wo:WO-25-00077].",
        "Check the relief plug first.",
        "Call the supervisor if unsure.",
    ]
    assert [why for _, why in check.removed] == [
        "cites wo:WO-19-00001, which was not retrieved",
        "states a fact without a citation",
    ]
    assert check.cited == ["doc:nfw-plant-docs:manuals/p101.md#12", "wo:WO-25-00077"]
    assert "WO-19-00001" not in check.answer and "2950" not in check.answer
    assert check.answer.endswith("(2 statement(s) left out: the evidence retrieved does not support them.)")
    assert not check.grounded


def test_a_fully_cited_answer_passes_unchanged():
    answer = "Purge the surplus grease [wo:WO-25-00077]. Then re-check the temperature."
    check = check_citations(answer, EVIDENCE)
    assert check.grounded and check.answer == answer


def test_retrieved_facts_become_citable_evidence(plant_graph):
    from maintgraph.graph.queries import failure_modes
    from maintgraph.retrieval.cmms import from_work_orders
    from maintgraph.retrieval.knowledge_graph import from_graph_result

    modes = from_graph_result(failure_modes(plant_graph, "P-101"))
    assert modes and all(e.id.startswith("graph:FMEAEntry:") and e.kind == "graph" for e in modes)
    assert len({e.id for e in modes}) == len(modes) and "rpn:" in modes[0].text
    order = {
        "number": "WO-25-00077", "asset": "P-101", "type": "CM", "status": "CLOSE", "reported": "2025-05-20",
        "finished": "2025-05-20", "failure_code": "OHE", "description": "P-101 DE BRG TEMP 88C AFTR PM",
    }  # fmt: skip
    (wo,) = from_work_orders([order])
    answer = f"The bearing ran at 88 C after a PM [{wo.id}]. The FMEA lists it [{modes[0].id}]."
    assert check_citations(answer, [wo, *modes]).grounded


# -- the deterministic plan, run against the real graph and CMMS -------------------------------------


@pytest.fixture
def retrievers(plant_graph, pg_conninfo):
    import psycopg
    from psycopg.rows import dict_row

    from maintgraph.retrieval.base import Backends
    from maintgraph.retrieval.registry import build_retrievers
    from maintgraph.tools.cmms_import import import_cmms
    from maintgraph.tools.cmms_tools import Approvals, CMMSTools
    from maintgraph.tools.postgres_cmms import PostgresCMMS

    with psycopg.connect(pg_conninfo, row_factory=dict_row) as conn:
        import_cmms(conn, REPO / "data" / "plant", "plant")
    backend = PostgresCMMS(pg_conninfo)
    yield build_retrievers(Backends(graph=plant_graph, cmms=CMMSTools(backend, Approvals(b"x"))))
    backend.close()


def test_the_plan_follows_the_intent_and_always_fetches_isolation_for_work(linker):
    hot = [
        str(c) for c in KNOWN.plan(understand("P-101 drive-end bearing is running hot, what should I check?", linker))
    ]
    assert hot[0].startswith("docs.search(") and "tags=('P-101',)" in hot[0]
    # "running hot" links the failure mode OHE: its FMEA entries, the fix for it, and isolation first.
    assert "graph.failure_modes(tag='P-101')" in hot and "graph.failure_mode_fix(mode='OHE', tag='P-101')" in hot
    assert hot[1] == "graph.isolation(tag='P-101')"
    assert "cmms.asset_history(asset_tag='P-101')" in hot and "graph.equipment_neighbourhood(tag='P-101')" in hot
    noisy = [str(c) for c in KNOWN.plan(understand("P-101 is making a grinding noise", linker))]
    assert any(c.startswith("graph.symptom_causes(") and "symptom='grinding noise'" in c for c in noisy)
    history = [str(c) for c in KNOWN.plan(understand("When was the last PM on P-401?", linker))]
    assert "cmms.pm_status(asset_tag='P-401')" in history
    assert not any("equipment_neighbourhood" in c for c in history)  # no physical work asked for
    parts = [str(c) for c in KNOWN.plan(understand("Do we have BRG-6312-C3 in stores?", linker))]
    assert "cmms.part_availability(part_number='BRG-6312-C3')" in parts
    assert not any("community_reports" in c for c in hot + noisy + history + parts)
    # A question across the plant (no asset named) also reads the communities' reports: the global route.
    themes = "What are the recurring failure themes across the plant?"
    assert f"docs.community_reports(query={themes!r})" in [str(c) for c in KNOWN.plan(understand(themes, linker))]
    assert not any(
        c.name == "community_reports" for c in KNOWN.plan(understand(themes, linker), skip=["community_reports"])
    )


def test_every_plant_wide_evaluation_question_takes_the_global_route(linker):
    """The plant_wide set measures the global route: each of its questions must reach it (a question
    that linked an asset or missed the plant-wide words would score the ordinary route instead)."""
    from maintgraph.evals.sets import resolve_set

    items = resolve_set("plant_wide").items
    assert len(items) >= 20
    missed = [
        i.question
        for i in items
        if not any(c.name == "community_reports" for c in KNOWN.plan(understand(i.question, linker)))
    ]
    assert missed == []


def test_running_a_plan_collects_citable_evidence_within_a_budget(linker, retrievers):
    calls = KNOWN.plan(understand("P-101 drive-end bearing is running hot, what should I check?", linker))
    done = retrievers.run_plan(calls)
    # Document search was not offered here: reported as not checked, the rest answered.
    assert done.not_checked == ["docs search: no such tool"]
    ids = [e.id for e in done.evidence]
    assert "wo:HISTORY:P-101" in ids and any(i.startswith("graph:") for i in ids)
    assert any("LOTOProcedure" in e.id for e in done.evidence)  # isolation is part of the evidence
    assert len(ids) == len(set(ids))
    # A repeated call is skipped, calls over the budget are not made, a failing one is named.
    unknown = Call("graph", "failure_modes", (("tag", "P-999"),))
    again = retrievers.run_plan([calls[1], calls[1], unknown, *calls[2:]], budget=2)
    assert again.skipped[0].endswith("(repeated)") and any("budget of 2" in s for s in again.skipped)
    assert len(again.not_checked) == 1 and "P-999" in again.not_checked[0]


def test_ask_cli_refuses_an_empty_question_before_touching_any_service(tmp_path):
    from .conftest import run_cli

    result = run_cli("ask", "  ", env={"MAINTGRAPH_DATA_DIR": str(tmp_path)})
    assert result.returncode == 1 and "the question is empty" in result.stderr


# -- the router's check on the model's tool choice, and evidence grading -----------------------------


def test_the_router_judges_the_models_tool_choice(linker):
    from maintgraph.agent.routing import judge

    seen = understand("P-101 drive-end bearing is running hot, what should I check?", linker)
    planned = KNOWN.plan(seen)
    assert judge(KNOWN, "failure_modes", {"tag": "P-101"}, seen, planned).verdict == "agrees"
    added = judge(KNOWN, "shared_components", {"tag": "P-101"}, seen, planned)
    assert added.verdict == "added" and str(added.call) == "graph.shared_components(tag='P-101')"
    assert (
        "does not answer a diagnose question" in judge(KNOWN, "pm_status", {"asset_tag": "P-101"}, seen, planned).reason
    )
    assert judge(KNOWN, "failure_modes", {"tag": "P-999"}, seen, planned).verdict == "rejected"  # not a linked entity
    assert judge(KNOWN, "drop_everything", {}, seen, planned).verdict == "rejected"
    # The schemas offered to the model only admit what entity linking found.
    schemas = {tool.name: tool.spec()["function"]["parameters"] for tool in KNOWN.offered_tools(seen)}
    tag = schemas["failure_modes"]["properties"]["tag"]
    assert tag.get("enum", [tag.get("const")]) == ["P-101"]  # one choice is written as a const
    assert "part_availability" not in schemas  # no part was named


def test_the_model_is_not_asked_for_a_tool_when_it_could_only_agree(linker):
    from maintgraph.agent.routing import model_choice, possible_calls

    class Counting:  # a model client that counts the tool choices asked of it
        asked = 0

        def call_tool(self, *args, **kwargs):
            Counting.asked += 1
            raise AssertionError("the model should not have been asked")

    seen = understand("P-101 drive-end bearing is running hot, what should I check?", linker)
    possible = possible_calls(KNOWN, seen)
    assert "graph.shared_components(tag='P-101')" in {str(c) for c in possible}  # what the schemas allow
    everything = [*KNOWN.plan(seen), *possible]
    choice = model_choice(Counting(), None, KNOWN, seen, everything)
    assert choice.verdict == "not asked" and "every call the model could choose" in choice.reason
    assert Counting.asked == 0
    # A call the plan does not make: the model is asked (here it fails, and the plan stands).
    with pytest.raises(AssertionError, match="should not have been asked"):
        model_choice(Counting(), None, KNOWN, seen, KNOWN.plan(seen))


def test_grading_drops_off_topic_documents_and_reformulates_in_the_manuals_words(linker):
    from maintgraph.agent.grade import grade, reformulate, too_little

    seen = understand("P-101 drive-end bearing is running hot, what should I check?", linker)
    on_tag = Evidence("doc:a#1", "doc", "P-101 bearing temperature alarm at 85 C.")
    on_words = Evidence("doc:b#1", "doc", "A drive-end bearing running hot after greasing: check the relief plug.")
    off = Evidence("doc:c#1", "doc", "Backwash the sand filters when the head loss reaches 250 mbar.")
    graph_fact = Evidence("graph:FMEAEntry:x", "graph", "anything the graph returned for the linked asset")
    kept, dropped = grade([on_tag, on_words, off, graph_fact], seen)
    assert dropped == ["doc:c#1"] and len(kept) == 3 and not too_little(kept)
    query = reformulate(seen)
    assert query.startswith("P-101 Raw water lift pump 1") and "troubleshooting" in query


@pytest.mark.parametrize(
    ("text", "period"),
    [
        ("Get the work order of equipment CWC04013 for year 2017.", ("2017-01-01", "2018-01-01")),
        ("events of CWC04009 for the June of 2020", ("2020-06-01", "2020-07-01")),
        ("the first week of June of 2020", ("2020-06-01", "2020-06-08")),
        ("bundling covering years of 2017, 2018 and 2019", ("2017-01-01", "2020-01-01")),
        ("Assume today is early of July 2020, review CWC04009 for June 2020", ("2020-06-01", "2020-07-01")),
        ("What does SB-2025-03 say about grease on P-101?", None),
        ("What maintenance does P-101 need every 2000 hours?", None),
        ("work orders on P-101 from 2017 to 2019", ("2017-01-01", "2020-01-01")),
        ("corrective work before 2019", ("1900-01-01", "2019-01-01")),
        ("alerts in Q3 2020", ("2020-07-01", "2020-10-01")),
        ("When was the last PM on P-401?", None),
    ],
)
def test_the_period_a_question_asks_about_is_half_open(text, period):
    from maintgraph.agent.periods import find_period

    found = find_period(text)
    assert (found[0].isoformat(), found[1].isoformat()) == period if period else found is None


def test_a_period_turns_history_into_counts_over_it(linker):
    counted = [
        str(c) for c in KNOWN.plan(understand("How many corrective work orders did P-101 have in 2025?", linker))
    ]
    assert ("cmms.count_work_orders(asset_tag='P-101', date_from='2025-01-01', date_to='2026-01-01', "
            "wo_type='CM')") in counted  # fmt: skip
    events = [str(c) for c in KNOWN.plan(understand("P-101 alerts and anomalies in May 2026 by day?", linker))]
    summary = "cmms.event_summary(asset_tag='P-101', date_from='2026-05-01'"
    assert any(c.startswith(summary) and "'ALERT', 'ANOMALY'" in c for c in events)
    plain = [str(c) for c in KNOWN.plan(understand("When was the last PM on P-101?", linker))]
    assert not any("count_work_orders" in c or "event_summary" in c for c in plain)
