"""The sample plant in both engines: identical answers to every named query, citable paths, linking."""

from __future__ import annotations

import json
from itertools import pairwise

import pytest

from maintgraph.graph.linking import EntityLinker
from maintgraph.graph.loaders import load_paths
from maintgraph.graph.queries import (
    _PATH_RELS,
    QUERIES,
    UnknownEntity,
    equipment_neighbourhood,
    failure_mode_fix,
    failure_modes,
    paths_between,
    shared_components,
    symptom_causes,
)
from maintgraph.graph.schema import NODE_TYPES

from .conftest import REPO, run_cli

PLANT = REPO / "data" / "plant"


@pytest.fixture(scope="module", params=["falkordb", "neo4j"])
def plant_store(request, running_services, bolt_server):
    """The sample plant, loaded once per engine for this module's read-only tests."""
    import uuid

    import neo4j

    from maintgraph.graph.falkordb import FalkorDBStore
    from maintgraph.graph.neo4j import Neo4jStore

    key = f"plant_{uuid.uuid4().hex[:8]}"
    if request.param == "falkordb":
        store = FalkorDBStore(running_services.services.falkordb.client(), key)
    else:
        store = Neo4jStore(neo4j.GraphDatabase.driver(bolt_server.uri, auth=("neo4j", "t")), key)
    store.ensure_schema()
    load_paths(store, [PLANT])
    try:
        yield store
    finally:
        store.clear()
        store.close()


def _answers(store) -> dict:
    """Every query over every equipment of the plant, as comparable plain data."""
    tags = [r["t"] for r in store.read("MATCH (e:Equipment) RETURN e.tag AS t ORDER BY t")]
    answers = {}
    for tag in tags:
        answers[f"neighbourhood {tag}"] = equipment_neighbourhood(store, tag)
        answers[f"modes {tag}"] = failure_modes(store, tag)
        answers[f"shared {tag}"] = shared_components(store, tag)
        answers[f"hot {tag}"] = symptom_causes(store, tag, "bearing hot")
        for mode in {fact["mode"] for fact in answers[f"modes {tag}"].facts}:
            answers[f"fix {tag} {mode}"] = failure_mode_fix(store, tag, mode)
    return {
        key: json.dumps(
            {"facts": sorted(json.dumps(f, sort_keys=True, default=str) for f in r.facts), "paths": sorted(r.path_refs)}
        )
        for key, r in answers.items()
    }


def test_both_engines_give_identical_answers(running_services, bolt_server):
    import uuid

    import neo4j

    from maintgraph.graph.falkordb import FalkorDBStore
    from maintgraph.graph.neo4j import Neo4jStore

    falkor = FalkorDBStore(running_services.services.falkordb.client(), f"g_{uuid.uuid4().hex[:8]}")
    bolt = Neo4jStore(neo4j.GraphDatabase.driver(bolt_server.uri, auth=("neo4j", "t")), f"g_{uuid.uuid4().hex[:8]}")
    try:
        for store in (falkor, bolt):
            store.ensure_schema()
            load_paths(store, [PLANT])
        assert falkor.stats() == bolt.stats()
        falkor_answers, bolt_answers = _answers(falkor), _answers(bolt)
        assert len(falkor_answers) > 100
        assert falkor_answers == bolt_answers
    finally:
        for store in (falkor, bolt):
            store.clear()
            store.close()


def test_plant_size_and_classes(plant_store):
    stats = plant_store.stats()["nodes"]
    assert 20 <= stats["Equipment"] <= 40
    classes = plant_store.read("MATCH (e:Equipment) RETURN count(DISTINCT e.class_code) AS n")[0]["n"]
    assert classes >= 6
    assert stats["FMEAEntry"] >= 50 and stats["LOTOProcedure"] >= 5 and stats["Procedure"] >= 10


def test_neighbourhood_places_the_pump_in_the_plant(plant_store):
    result = equipment_neighbourhood(plant_store, "P-101")
    triples = {(f["from"], f["relation"], f["to"]) for f in result.facts}
    assert ("Equipment:M-101", "DRIVES", "Equipment:P-101") in triples
    assert ("Equipment:P-101", "OF_CLASS", "EquipmentClass:PU") in triples
    assert any(rel == "HAS_EQUIPMENT" and to == "Equipment:P-101" for _, rel, to in triples)
    assert any(rel == "HAS_PART" for _, rel, _ in triples)
    assert any(rel == "ISOLATES" and frm.startswith("LOTOProcedure:") for frm, rel, _ in triples)
    assert any(rel == "MONITORS" for _, rel, _ in triples)


def test_failure_modes_rank_by_rpn_with_checked_figures(plant_store):
    result = failure_modes(plant_store, "P-101")
    assert result.facts, "P-101 has an FMEA"
    rpns = [fact["rpn"] for fact in result.facts]
    assert rpns == sorted(rpns, reverse=True)
    for fact in result.facts:
        assert fact["rpn"] == fact["severity"] * fact["occurrence"] * fact["detection"]
        assert fact["action_priority"] in {"H", "M", "L"}
        assert fact["causes"]
    # every fact is citable through a path that starts at the equipment
    assert all(path.nodes[0].ref == "Equipment:P-101" for path in result.paths)


def test_symptom_leads_to_causes_and_checks(plant_store):
    result = symptom_causes(plant_store, "P-101", "bearing running hot")
    assert result.params["matched_symptoms"]
    assert result.facts
    assert all(fact["causes"] for fact in result.facts)
    checks = [fact for fact in result.facts if fact["check_sensor"]]
    assert checks, "at least one cause is watched by a sensor"
    assert all(fact["sensor_alarm_high"] is not None for fact in checks)
    assert symptom_causes(plant_store, "P-101", "smells of bananas").facts == []


def test_fix_gives_procedure_isolation_and_parts(plant_store):
    mode = failure_modes(plant_store, "P-101").facts[0]["mode"]
    fixes = [m for m in {f["mode"] for f in failure_modes(plant_store, "P-101").facts}
             if failure_mode_fix(plant_store, "P-101", m).facts]  # fmt: skip
    assert fixes, f"some P-101 failure mode (e.g. {mode}) has a procedure"
    result = failure_mode_fix(plant_store, "P-101", fixes[0])
    kinds = {fact["kind"] for fact in result.facts}
    assert {"procedure", "isolation"} <= kinds
    isolation = [fact for fact in result.facts if fact["kind"] == "isolation"]
    assert all(fact["method"] and fact["isolation_point"].startswith("IsolationPoint:") for fact in isolation)
    assert any(fact["energy_kind"] == "electrical" for fact in isolation)
    assert isolation[0]["loto_steps"]


def test_twin_pumps_share_parts(plant_store):
    result = shared_components(plant_store, "P-101")
    assert "P-102" in {fact["other_equipment"] for fact in result.facts}


def test_paths_between_motor_and_pump(plant_store):
    result = paths_between(plant_store, "Equipment:P-101", "Equipment:M-101")
    assert result.facts[0]["hops"] == 1 and result.facts[0]["relations"] == ["DRIVES"]
    with pytest.raises(ValueError, match="is not Label:key"):
        paths_between(plant_store, "P-101", "Equipment:M-101")


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("Equipment:P-101", "Equipment:P-501"),  # different systems: up to the site and down again
        ("Equipment:P-101", "Equipment:P-102"),
        ("SparePart:BRG-6312-C3", "Equipment:M-101"),
        ("Sensor:VT-101-DE", "FailureMode:OHE"),
        ("Procedure:PR-PU-BRG-01", "Equipment:P-502"),
        ("IsolationPoint:MCC1-07", "Sensor:VT-501-DE"),  # six hops: three out of each end
    ],
)
def test_paths_between_are_shortest_simple_and_connected(plant_store, start, end):
    result = paths_between(plant_store, start, end, max_hops=6)
    assert result.paths, f"no path {start} -> {end}"
    hops = {len(path.relationships) for path in result.paths}
    assert len(hops) == 1, "only the shortest connections come back"
    (length,) = hops
    # Oracle: the plain one-sided variable-length match finds nothing shorter.
    (a_label, a_key), (b_label, b_key) = start.split(":", 1), end.split(":", 1)
    shorter = plant_store.read(
        f"MATCH (a:{a_label} {{{NODE_TYPES[a_label].key}: $a}}) MATCH (b:{b_label} {{{NODE_TYPES[b_label].key}: $b}}) "
        f"MATCH p = (a)-[:{_PATH_RELS}*1..{max(length - 1, 1)}]-(b) RETURN count(p) AS n",
        {"a": a_key, "b": b_key},
    )
    assert length == 1 or shorter[0]["n"] == 0
    for path in result.paths:
        refs = [node.ref for node in path.nodes]
        assert refs[0] == start and refs[-1] == end
        assert len(set(refs)) == len(refs), f"{path.ref} visits a node twice"
        for (a, b), rel in zip(pairwise(refs), path.relationships, strict=True):
            assert {rel.start, rel.end} == {a, b}, f"{rel.ref} does not join {a} and {b}"


def test_unknown_equipment_is_an_error_not_an_empty_answer(plant_store):
    for name in ("equipment_neighbourhood", "failure_modes", "shared_components"):
        with pytest.raises(UnknownEntity, match="no Equipment 'P-999' in the graph"):
            QUERIES[name](plant_store, "P-999")


def test_entity_linking(plant_store):
    linker = EntityLinker.from_store(plant_store)
    for text in ("P-101", "p101", "pump 101", "P 101"):
        assert [c.ref for c in linker.resolve(text)][:1] == ["Equipment:P-101"], text
    mentions = {m.text: m for m in linker.link("pump 101 vibraton and leaking at the gland")}
    assert mentions["pump 101"].best.ref == "Equipment:P-101"
    assert mentions["vibraton"].best.ref == "FailureMode:VIB"  # typo, matched fuzzily
    assert mentions["vibraton"].best.score < 100
    leaking = mentions["leaking"]
    assert leaking.ambiguous and leaking.best is None  # process or utility leak: never silently picked
    assert {"FailureMode:ELP", "FailureMode:ELU"} <= {c.ref for c in leaking.candidates}
    assert linker.nearest("P-1O1")[0].key == "P-101"


def test_cli_load_stats_query(running_services, tmp_path):
    env = {"MAINTGRAPH_DATA_DIR": str(running_services.settings.data_dir), "MAINTGRAPH_GRAPH_NAME": "cli_plant"}
    loaded = run_cli("graph", "load", str(PLANT), env=env, timeout=300)
    assert loaded.returncode == 0, loaded.stderr
    assert f"loaded {(PLANT / 'fmea.csv').resolve()}:" in loaded.stdout.replace("\n", " ")  # sources: resolved paths
    stats = json.loads(run_cli("graph", "stats", "--json", env=env).stdout)
    assert stats["nodes"]["Equipment"] >= 20
    query = run_cli("graph", "query", "failure_modes", "--param", "tag=P-101", "--json", env=env)
    assert query.returncode == 0, query.stderr
    assert json.loads(query.stdout)["facts"]
    bad = run_cli("graph", "query", "failure_modes", "--param", "tag=P-999", env=env)
    assert bad.returncode == 1 and "no Equipment 'P-999' in the graph" in bad.stderr
    wrong = run_cli("graph", "query", "failure_modes", "--param", "tags=P-101", env=env)
    assert wrong.returncode == 2 and "failure_modes takes tag" in wrong.stderr
    gone = run_cli("graph", "delete-source", "plant/fmea.csv", env=env)  # the end of a path names its source
    assert gone.returncode == 0 and gone.stdout.startswith("removed 419 nodes"), gone.stdout + gone.stderr
    running_services.services.falkordb.client().select_graph("cli_plant").delete()
