"""Questions about the FMEA itself (issue 27): the parser reads a question into a typed query with
the graph's own vocabulary, the query runs as parameterised Cypher on both engines, and the
agent's answer states the exact figure with the FMEA entries it was computed from.

The sheet is the classic-AIAG generator FMEA of tests/data/layouts (not the evaluation set's
layout); every expected figure is computed here from the CSV with the csv module."""

from __future__ import annotations

import csv
import os
import shutil
import uuid
from pathlib import Path
from statistics import mean

import pytest

from maintgraph.agent.synthesis import finish
from maintgraph.agent.understand import classify, understand
from maintgraph.citations import ground
from maintgraph.graph.linking import EntityLinker
from maintgraph.graph.loaders import load_paths
from maintgraph.retrieval.analytics import Vocabulary, answer, parse
from maintgraph.retrieval.base import Backends
from maintgraph.retrieval.registry import build_retrievers

SHEET = Path(__file__).parent / "data" / "layouts" / "generator_classic_fmea.csv"


def sheet_rows() -> list[dict]:
    """The sheet's rows with its blank "same as above" hierarchy cells filled, as a reader sees them."""
    rows, last = [], {"Subsystem": "", "Component": ""}
    with SHEET.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            for level in ("Subsystem", "Component"):
                row[level] = row[level] or last[level]
            last = {"Subsystem": row["Subsystem"], "Component": row["Component"]}
            rows.append(row)
    return rows


ROWS = sheet_rows()


def of(subsystem: str | None = None, component: str | None = None) -> list[dict]:
    return [r for r in ROWS if (subsystem in (None, r["Subsystem"])) and (component in (None, r["Component"]))]


@pytest.fixture(scope="module", params=["falkordb", "neo4j"])
def fmea_graph(request, running_services, tmp_path_factory):
    """The generator FMEA loaded once per module, on each engine."""
    from maintgraph.graph.falkordb import FalkorDBStore
    from maintgraph.graph.neo4j import Neo4jStore

    key = f"a_{uuid.uuid4().hex[:12]}"
    if request.param == "falkordb":
        store = FalkorDBStore(running_services.services.falkordb.client(), key)
    else:
        import neo4j

        if os.environ.get("MAINTGRAPH_TEST_NEO4J_URI"):
            pytest.skip("the module-scoped graph runs on the Bolt stand-in only")
        server = request.getfixturevalue("bolt_server")
        store = Neo4jStore(neo4j.GraphDatabase.driver(server.uri, auth=("neo4j", "test")), database=key)
    store.ensure_schema()
    folder = tmp_path_factory.mktemp("sheet")
    shutil.copy(SHEET, folder / SHEET.name)
    load_paths(store, [folder / SHEET.name])
    try:
        yield store
    finally:
        store.clear()
        store.close()


def ask(graph, question: str):
    return answer(graph, question, Vocabulary.read(graph))


# -- the parser and the Cypher, figures from the CSV ------------------------------------------------


def test_count_average_and_threshold_over_a_named_subsystem(fmea_graph):
    engine = of("Engine")
    _, result = ask(fmea_graph, "How many failure modes does the engine have?")
    assert f"has {len(engine)} failure modes" in result.text
    _, result = ask(fmea_graph, "What is the average RPN of the cooling system failure modes?")
    cooling = [int(r["RPN"]) for r in of("Cooling System")]
    assert (
        f"average RPN of the {len(cooling)} failure modes of the Cooling System is {mean(cooling):.1f}" in result.text
    )
    query, result = ask(fmea_graph, "Which failure modes of the fuel system have an RPN above 100?")
    assert [(f.field, f.op, f.value) for f in query.filters] == [("rpn", ">", 100)]
    expected = {r["Potential Failure Mode"] for r in of("Fuel System") if int(r["RPN"]) > 100}
    listed = {row["failure_mode"] for row in result.entries}
    assert listed == expected and all(name in result.text for name in expected)
    _, result = ask(fmea_graph, "How many failure modes are rated severity 9 or 10?")
    assert f"has {sum(int(r['Severity']) >= 9 for r in ROWS)} failure modes" in result.text


def test_percentage_and_no_recommended_action(fmea_graph):
    alternator = of("Alternator")
    without = sum(not r["Recommended Action"] for r in ROWS)
    _, result = ask(fmea_graph, "How many failure modes have no recommended action?")
    assert f"has {without} failure modes with no recommended action" in result.text
    _, result = ask(fmea_graph, "What percentage of the alternator failure modes has a severity of at least 8?")
    high = sum(int(r["Severity"]) >= 8 for r in alternator)
    assert (
        f"{100 * high / len(alternator):.1f}% of the failure modes of the Alternator ({high} of {len(alternator)})"
        in result.text
    )


@pytest.mark.parametrize(
    ("question", "field", "descending"),
    [
        ("Which three failure modes have the highest RPN?", "RPN", True),
        ("Which failure mode is the most likely to occur?", "Occurrence", True),
        ("Which failure modes are the hardest to detect?", "Detection", True),
        ("What is the least severe failure mode?", "Severity", False),
    ],
)
def test_rankings_with_ties_and_field_synonyms(fmea_graph, question, field, descending):
    _, result = ask(fmea_graph, question)
    values = sorted((int(r[field]) for r in ROWS), reverse=descending)
    n = 3 if "three" in question else 1
    cut = values[n - 1]
    expected = {
        r["Potential Failure Mode"] for r in ROWS if (int(r[field]) >= cut if descending else int(r[field]) <= cut)
    }
    assert {row["failure_mode"] for row in result.entries} == expected
    assert str(values[0]) in result.text


def test_lookup_of_a_named_failure_mode_and_a_hierarchy_listing(fmea_graph):
    [row] = [r for r in ROWS if r["Potential Failure Mode"] == "Damper fluid degraded"]
    query, result = ask(fmea_graph, "What is the detection rating of the damper fluid degraded failure mode?")
    assert query.operation == "lookup" and f"detection {row['Detection']}" in result.text
    assert "Engine > Crankshaft > Torsional Vibration Damper" in result.text
    _, result = ask(fmea_graph, "Which parts of the starting system are in the FMEA?")
    for part in {r["Sub-Component"] for r in of("Starting System")}:
        assert part in result.text


def test_level_words_of_a_classic_sheet_group_and_list_in_the_users_words(fmea_graph):
    by_subsystem: dict[str, list[int]] = {}
    for row in ROWS:
        by_subsystem.setdefault(row["Subsystem"], []).append(int(row["RPN"]))
    best = max(by_subsystem, key=lambda name: mean(by_subsystem[name]))
    _, result = ask(fmea_graph, "Which subsystem has the highest average RPN?")
    assert result.text.startswith(f"The subsystem with the highest average RPN: {best} "
                                  f"(average RPN {mean(by_subsystem[best]):.1f}")  # fmt: skip
    components = sorted({r["Component"] for r in of("Engine")})
    _, result = ask(fmea_graph, "What components does the engine have?")
    assert f"The Engine has {len(components)} components in the FMEA: {', '.join(components)}." in result.text
    assert classify("Which sub-component of the turbocharger is most likely to fail?") == "analytics"


def test_an_ambiguous_name_is_answered_for_each_and_said(fmea_graph):
    bearings = [r for r in ROWS if r["Sub-Component"] == "Bearing"]
    _, result = ask(fmea_graph, "What failure modes does the bearing have?")
    assert f"There are {len(bearings)} 'Bearing's" in result.text and "I answered for each" in result.text
    for row in bearings:
        assert row["Potential Failure Mode"] in result.text and row["Component"] in result.text
    # A named failure mode picks its own: one of the three Gaskets.
    _, result = ask(fmea_graph, "What are the effects of a blown head gasket?")
    assert "There are" not in result.text and "Compression loss and coolant in cylinder" in result.text
    # Named under its parent, the same word is not ambiguous.
    _, result = ask(fmea_graph, "What failure modes does the turbocharger bearing have?")
    assert "There are" not in result.text and "Turbocharger bearing failure" in result.text
    assert "Main bearing wiped" not in result.text


def test_nothing_found_is_said_with_the_scope_and_the_filter(fmea_graph):
    _, result = ask(fmea_graph, "Which failure modes of the alternator are caused by lightning?")
    assert result.text.startswith("Failure modes of the Alternator caused by lightning: none (not found")
    assert not result.entries
    _, result = ask(fmea_graph, "What is the RPN of the crankcase explosion relief valve?")
    assert "no failure mode" in result.text and "explosion" in result.text


def test_a_cause_is_matched_by_meaning_where_its_words_differ(fmea_graph, embedder):
    question = "Which failure modes of the alternator are caused by lubrication problems?"
    assert "not found" in ask(fmea_graph, question)[1].text  # no cause says "lubrication"
    vocabulary = Vocabulary.read(fmea_graph)
    _, result = answer(fmea_graph, question, vocabulary, embedder)
    assert [row["failure_mode"] for row in result.entries] == ["Bearing noise / vibration"]  # "Grease degraded"
    _, result = answer(fmea_graph, "Which failure modes of the alternator are caused by lightning?", vocabulary,
                       embedder)  # fmt: skip
    assert not result.entries and "not found" in result.text


def test_the_question_reaches_the_database_only_as_parameters(fmea_graph):
    question = "Which failure modes are caused by quux') OR true RETURN f //?"
    query = parse(question, Vocabulary.read(fmea_graph))
    _, result = ask(fmea_graph, question)
    assert query.filters and "not found" in result.text and not result.entries


# -- the agent: routing, and the answer it shows ----------------------------------------------------


def agent_answer(graph, question: str):
    """The agent's no-model path: understanding, the deterministic plan, the retrievers, the answer."""
    seen = understand(question, EntityLinker.from_store(graph))
    retrievers = build_retrievers(Backends(graph=graph))
    calls = retrievers.plan(seen)
    retrieved = retrievers.run(calls)
    return seen, calls, retrieved.evidence, finish("", retrieved.evidence, seen, [])


def test_the_agent_states_the_exact_figure_with_its_citations(fmea_graph):
    question = "What is the average severity of the lubrication system failure modes?"
    seen, calls, evidence, done = agent_answer(fmea_graph, question)
    assert seen.intent == "analytics" and "fmea_analytics" in [c.name for c in calls]
    lube = [int(r["Severity"]) for r in of("Lubrication System")]
    assert (
        f"The average severity of the {len(lube)} failure modes of the Lubrication System is {mean(lube):.1f}"
        in done.text
    )
    assert any(c.startswith("graph:FMEAQuery:") for c in done.cited)
    assert sum(c.startswith("graph:FMEAEntry:") for c in done.cited) == len(lube)
    assert "From the plant's records" not in done.text  # the figure, not the records pasted
    # The citation check accepts it: every claim cites retrieved evidence holding its numbers.
    claims = ground(done.text, {e.id: e.text for e in evidence})
    assert claims and not [c for c in claims if c.problem]


def test_the_agent_says_when_nothing_matches(fmea_graph):
    _, _, _, done = agent_answer(fmea_graph, "Which failure modes of the alternator are caused by lightning?")
    assert done.text.startswith("Failure modes of the Alternator caused by lightning: none (not found")


def test_troubleshooting_keeps_its_route():
    assert (
        classify("P-101 DE bearing running hot, what's the likely cause and which sensor shows it?", True) == "diagnose"
    )
    assert classify("What does the FMEA say is behind it, which transmitter do I watch?", True) == "diagnose"
    assert classify("How many work orders were raised on P-101 in 2025?") == "history"
    assert classify("How many failure modes have an RPN above 100?") == "analytics"
    assert classify("Which three failure modes have the highest RPN?") == "analytics"


# -- the model's proposal, judged by the parse --------------------------------------------------------


def proposal_for(question: str, graph, **proposed):
    from maintgraph.retrieval.analytics import proposal

    vocabulary = Vocabulary.read(graph)
    full = {"scope": proposal.WHOLE, "operation": "list", "field": "rpn", "filters": [], "limit": None, **proposed}
    return proposal.judge(parse(question, vocabulary), full, vocabulary, question)


def test_a_proposal_the_parse_agrees_with_changes_nothing(fmea_graph):
    question = "What is the average RPN of the cooling system failure modes?"
    query, verdict = proposal_for(question, fmea_graph, scope="Cooling System", operation="average")
    assert verdict.verdict == "agrees" and query == parse(question, Vocabulary.read(fmea_graph))


def test_a_proposal_naming_what_the_question_does_not_is_rejected(fmea_graph):
    question = "What is the average RPN of the cooling system failure modes?"
    query, verdict = proposal_for(question, fmea_graph, scope="Alternator", operation="average")
    assert verdict.verdict == "rejected" and "'Alternator' is not named in the question" in verdict.reason
    assert [n.name for g in query.scope for n in g] == ["Cooling System"]  # the parse stands
    _, verdict = proposal_for(question, fmea_graph, scope="Cooling System", operation="average",
                              filters=[{"field": "rpn", "op": ">", "value": 150}])  # fmt: skip
    assert verdict.verdict == "rejected" and "the question holds no 150" in verdict.reason


def test_a_grounded_proposal_fills_a_threshold_the_parse_missed(fmea_graph):
    question = "Which failure modes of the fuel system land in RPN territory past 100?"
    parsed = parse(question, Vocabulary.read(fmea_graph))
    assert not [f for f in parsed.filters if f.field == "rpn"]  # "past" is no comparator the parser knows
    query, verdict = proposal_for(question, fmea_graph, scope="Fuel System",
                                  filters=[{"field": "rpn", "op": ">", "value": 100}])  # fmt: skip
    assert verdict.verdict == "added" and "thresholds rpn > 100" in verdict.reason
    _, result = answer(fmea_graph, question, Vocabulary.read(fmea_graph), query=query)
    expected = {r["Potential Failure Mode"] for r in of("Fuel System") if int(r["RPN"]) > 100}
    assert {row["failure_mode"] for row in result.entries} == expected


def test_a_plain_question_that_names_nothing_the_fmea_holds_costs_no_model_proposal(fmea_graph):
    from maintgraph.agent.routing import analytic_proposal

    class NoCalls:  # a model client that fails the test if it is asked anything
        def structured(self, *args, **kwargs):
            raise AssertionError("the model was asked for a proposal")

    retrievers = build_retrievers(Backends(graph=fmea_graph))
    question = "What does a low-flow alarm usually mean, and who should I tell about it?"
    seen = understand(question, EntityLinker.from_store(fmea_graph))
    planned = retrievers.plan(seen)
    assert any(c.name == "fmea_analytics" for c in planned)  # planned in case it is about the FMEA's records
    calls, traced = analytic_proposal(NoCalls(), None, retrievers, seen, planned)
    assert calls == planned and traced == {"verdict": "not asked", "reason": "it names nothing the FMEA holds"}


def test_the_served_model_proposes_a_schema_valid_query_and_the_route_traces_the_verdict(fmea_graph, vllm,
                                                                                          llm_settings):  # fmt: skip
    from maintgraph.agent.routing import analytic_proposal
    from maintgraph.llm.client import LLMClient

    client, retrievers = LLMClient(llm_settings), build_retrievers(Backends(graph=fmea_graph))
    whole = "What is the average severity of the lubrication system failure modes?"
    seen = understand(whole, EntityLinker.from_store(fmea_graph))
    calls, traced = analytic_proposal(client, None, retrievers, seen, retrievers.plan(seen))
    assert traced["verdict"] == "not asked"  # read whole by the parse: no model call to wait for
    gap = "Which failure modes of the fuel system land in RPN territory past 100?"
    seen = understand(gap, EntityLinker.from_store(fmea_graph))
    planned = retrievers.plan(seen)
    calls, traced = analytic_proposal(client, None, retrievers, seen, planned)
    assert traced["verdict"] in ("added", "rejected"), traced  # a schema-valid proposal, judged
    assert traced["proposal"]["scope"] in {n.name for n in Vocabulary.read(fmea_graph).nodes} | {"whole FMEA"}
    assert traced["verdict"] == "added" or calls == planned  # only a filled gap changes the plan


def test_a_question_in_plain_words_about_the_fmeas_own_things_is_answered_from_it(fmea_graph):
    question = "What is recommended for the day tank level switch?"
    seen, calls, evidence, done = agent_answer(fmea_graph, question)
    assert seen.intent != "analytics" and "fmea_analytics" in [c.name for c in calls]  # routed by its names
    switch = [r for r in of("Fuel System", "Day Tank") if r["Sub-Component"] == "Level Switch"]
    assert [r["Recommended Action"] for r in switch] == ["Add independent low-low level alarm"]
    assert "Add independent low-low level alarm" in done.text
    # A question naming nothing the FMEA holds is left to the usual route.
    _, calls, evidence, _ = agent_answer(fmea_graph, "Why does the control room printer jam every morning?")
    assert not any(e.title == "fmea_query" for e in evidence)
