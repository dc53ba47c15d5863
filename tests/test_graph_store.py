"""GraphStore behaviour on both engines: idempotent merges, all-or-nothing sources, lineage, typed results."""

from __future__ import annotations

import neo4j
import pytest

from maintgraph.errors import GraphQueryError
from maintgraph.graph.base import GraphNode, GraphPath, GraphRelationship

PUMP = {"key": "P-101", "props": {"name": "Raw water pump 1", "class_code": "PU"}}
MOTOR = {"key": "M-101", "props": {"name": "Pump motor 1", "class_code": "EM"}}


def _load_pair(store, source="register"):
    with store.source_transaction(source) as tx:
        tx.merge_nodes("Equipment", [PUMP, MOTOR], source)
        tx.merge_relationships(
            "DRIVES", "Equipment", "Equipment", [{"start": "M-101", "end": "P-101", "props": {}}], source
        )


def test_merge_is_idempotent(graph_store):
    _load_pair(graph_store)
    _load_pair(graph_store)
    assert graph_store.stats() == {"nodes": {"Equipment": 2}, "relationships": {"DRIVES": 1}}
    [row] = graph_store.read("MATCH (e:Equipment {tag: 'P-101'}) RETURN e.sources AS s")
    assert row["s"] == ["register"]


def test_results_are_typed_records_not_driver_objects(graph_store):
    _load_pair(graph_store)
    [row] = graph_store.read("MATCH p = (m:Equipment)-[r:DRIVES]->(e:Equipment) RETURN m, r, e, p, e.name AS name")
    assert row["e"] == GraphNode("Equipment", "P-101")
    assert row["e"].properties["name"] == "Raw water pump 1"
    assert row["r"] == GraphRelationship("DRIVES", "Equipment:M-101", "Equipment:P-101")
    assert isinstance(row["p"], GraphPath)
    assert row["p"].ref == "Equipment:M-101 Equipment:P-101"
    assert [r.type for r in row["p"].relationships] == ["DRIVES"]
    assert row["name"] == "Raw water pump 1"


def test_a_failing_source_writes_nothing(graph_store):
    _load_pair(graph_store)
    with pytest.raises(RuntimeError, match="parse error half way"):
        with graph_store.source_transaction("bad") as tx:
            tx.merge_nodes("Equipment", [{"key": "P-102", "props": {"name": "twin"}}], "bad")
            assert tx.read("MATCH (e:Equipment) RETURN count(e) AS n")[0]["n"] == 3  # sees its own write
            raise RuntimeError("parse error half way")
    assert graph_store.existing_keys("Equipment", ["P-101", "P-102", "M-101"]) == {"P-101", "M-101"}


def test_delete_source_keeps_facts_other_sources_assert(graph_store):
    _load_pair(graph_store, "register")
    with graph_store.source_transaction("fmea") as tx:
        tx.merge_nodes("Equipment", [{"key": "P-101", "props": {}}], "fmea")
        tx.merge_nodes("FailureMode", [{"key": "VIB", "props": {"name": "Vibration"}}], "fmea")
        tx.merge_relationships("CAN_FAIL_BY", "Equipment", "FailureMode", [{"start": "P-101", "end": "VIB"}], "fmea")
    counts = graph_store.delete_source("fmea")
    assert counts == {"nodes": 1, "relationships": 1}
    assert graph_store.stats() == {"nodes": {"Equipment": 2}, "relationships": {"DRIVES": 1}}
    [row] = graph_store.read("MATCH (e:Equipment {tag: 'P-101'}) RETURN e.sources AS s")
    assert row["s"] == ["register"]


def test_syntax_error_is_a_clear_graph_query_error(graph_store):
    with pytest.raises(GraphQueryError, match="refused the query"):
        graph_store.read("MATCH (n RETURN n")


def test_relationship_to_wrong_labels_is_refused(graph_store):
    with pytest.raises(ValueError, match="DRIVES does not go from Equipment to FailureMode"):
        with graph_store.source_transaction("x") as tx:
            tx.merge_relationships("DRIVES", "Equipment", "FailureMode", [], "x")


def test_neo4j_driver_sees_real_bolt_structures_and_errors(bolt_server):
    """The Bolt stand-in behaves like Neo4j towards the official driver."""
    with neo4j.GraphDatabase.driver(bolt_server.uri, auth=("neo4j", "test")) as driver:
        driver.verify_connectivity()
        assert driver.get_server_info().agent.startswith("Neo4j/")
        driver.execute_query(
            "CREATE (:Equipment {tag: 'X-1'})-[:DRIVES]->(:Equipment {tag: 'X-2'})", database_="bolt_t"
        )
        records, _, _ = driver.execute_query(
            "MATCH p = (:Equipment)-[:DRIVES]->(:Equipment) RETURN p", database_="bolt_t"
        )
        path = records[0]["p"]
        assert isinstance(path, neo4j.graph.Path)
        assert [n["tag"] for n in path.nodes] == ["X-1", "X-2"]
        assert path.relationships[0].type == "DRIVES"
        with pytest.raises(neo4j.exceptions.CypherSyntaxError):
            driver.execute_query("MATCH (n RETURN n", database_="bolt_t")
        with driver.session(database="bolt_t") as session:
            tx = session.begin_transaction()
            tx.run("CREATE (:Equipment {tag: 'X-3'})").consume()
            tx.rollback()
            assert session.run("MATCH (e:Equipment) RETURN count(e) AS n").single()["n"] == 2
        driver.execute_query("MATCH (n) DETACH DELETE n", database_="bolt_t")
    with neo4j.GraphDatabase.driver(bolt_server.uri.replace("bolt://", "neo4j://"), auth=("neo4j", "test")) as routed:
        assert routed.execute_query("RETURN 1 AS one").records[0]["one"] == 1
