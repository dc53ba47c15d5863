"""GraphRAG communities of the knowledge graph: graphrag's hierarchical Leiden over the sample
plant in the embedded FalkorDB, stored as Community nodes, recomputed incrementally; a graph
with nothing to cluster is refused with nothing written."""

from __future__ import annotations

import uuid

import pytest

from maintgraph.graph.communities import CommunityError, refresh

from .conftest import PLANT


@pytest.fixture
def plant_graph(running_services):
    """The sample plant's graph in a graph of its own: these tests change it."""
    from maintgraph.graph.falkordb import FalkorDBStore
    from maintgraph.graph.loaders import load_paths

    graph = FalkorDBStore(running_services.services.falkordb.client(), f"communities_{uuid.uuid4().hex[:8]}")
    graph.ensure_schema()
    load_paths(graph, [PLANT])
    yield graph
    graph.clear()


@pytest.fixture
def empty_graph(running_services):
    from maintgraph.graph.falkordb import FalkorDBStore

    graph = FalkorDBStore(running_services.services.falkordb.client(), f"communities_{uuid.uuid4().hex[:8]}")
    graph.ensure_schema()
    yield graph
    graph.clear()


def write(graph, query: str) -> None:
    with graph.source_transaction("test") as tx:
        tx.run(query)


def communities_of(graph, ref_label: str, key_prop: str, key: str) -> list[dict]:
    return graph.read(
        f"MATCH (n:{ref_label} {{{key_prop}: $key}})-[:IN_COMMUNITY]->(c:Community) "
        "RETURN c.key AS key, c.level AS level, c.report_status AS status ORDER BY level",
        {"key": key},
    )


def test_the_plant_s_communities_are_stored_with_members_levels_and_parents(plant_graph):
    _, found, change = refresh(plant_graph)
    assert change.added and not (change.changed or change.removed or change.unchanged)
    assert len(change.levels) >= 2 and change.levels[0] >= 5  # a hierarchy, not one blob

    stored = plant_graph.read("MATCH (c:Community) RETURN c.key AS key, c.level AS level, c.size AS size")
    assert len(stored) == len(found)
    # Every fact with a relationship is in exactly one community per level it reaches, P-101 included.
    levels = [row["level"] for row in communities_of(plant_graph, "Equipment", "tag", "P-101")]
    assert levels == sorted(set(levels)) and levels[0] == 0
    # A child's members are all in its parent, one level up.
    orphans = plant_graph.read(
        "MATCH (child:Community)-[:PART_OF]->(parent:Community) WHERE parent.level <> child.level - 1 "
        "RETURN count(*) AS n"
    )
    assert orphans == [{"n": 0}]
    outside = plant_graph.read(
        "MATCH (n)-[:IN_COMMUNITY]->(child:Community)-[:PART_OF]->(parent:Community) "
        "WHERE NOT (n)-[:IN_COMMUNITY]->(parent) RETURN count(*) AS n"
    )
    assert outside == [{"n": 0}]
    parentless = plant_graph.read(
        "MATCH (c:Community) WHERE c.level > 0 AND NOT (c)-[:PART_OF]->() RETURN count(*) AS n"
    )
    assert parentless == [{"n": 0}]
    top = plant_graph.read("MATCH (c:Community {level: 0}) WHERE NOT (c)-[:PART_OF]->() RETURN count(*) AS n")
    assert top == [{"n": change.levels[0]}]


def test_a_re_run_finds_the_same_communities_and_an_edit_touches_only_the_communities_holding_it(plant_graph):
    _, first, _ = refresh(plant_graph)
    write(plant_graph, "MATCH (c:Community) SET c.report_status = 'reported'")  # as after the reports are written
    _, again, change = refresh(plant_graph)
    assert [c.key for c in again] == [c.key for c in first]  # keys name members, not Leiden's numbering
    assert not (change.added or change.changed or change.removed or change.unreported)
    assert len(change.unchanged) == len(first)

    holding = {row["key"] for row in communities_of(plant_graph, "Equipment", "tag", "P-101")}
    write(plant_graph, "MATCH (e:Equipment {tag: 'P-101'}) SET e.criticality = 'C'")
    *_, edited = refresh(plant_graph)
    assert set(edited.changed) == holding  # the communities holding P-101, at every level, and no other
    assert not (edited.added or edited.removed) and len(edited.unchanged) == len(first) - len(holding)
    statuses = {row["status"] for row in communities_of(plant_graph, "Equipment", "tag", "P-101")}
    assert statuses == {"stale"}  # their reports must be rewritten; the others keep theirs


def test_an_empty_graph_or_one_without_relationships_is_refused_and_nothing_is_written(empty_graph):
    with pytest.raises(CommunityError, match="the graph is empty"):
        refresh(empty_graph)
    with empty_graph.source_transaction("test") as tx:
        tx.merge_nodes("Equipment", [{"key": f"P-{n}", "props": {"name": f"pump {n}"}} for n in (1, 2)], "test")
    with pytest.raises(CommunityError, match="2 facts have no relationships between them"):
        refresh(empty_graph)
    assert empty_graph.read("MATCH (c:Community) RETURN count(c) AS n") == [{"n": 0}]
