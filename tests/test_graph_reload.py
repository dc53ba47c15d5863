"""Reloading a graph source: merge first, then retract only what the source no longer asserts.

A reload of an unchanged file leaves every node, relationship and property as it was, the
relationships other sources hang on its nodes included (issue 25: reloading the asset register
used to detach every Equipment node and lose the FMEA, LOTO, work-order and document links);
a changed file removes exactly what it stopped asserting; sources are named by resolved path,
and a graph loaded under the old ``folder/file`` names reloads cleanly.
"""

from __future__ import annotations

import shutil
import textwrap
import uuid
from pathlib import Path

import pytest

import maintgraph.graph.loaders as loaders
from maintgraph.graph.chunk_links import ChunkLinks, link_chunks
from maintgraph.graph.loaders import load_paths

from .conftest import PLANT, whole_plant_loaded
from .test_graph_loaders import COMPONENTS, FMEA_HEADER, REGISTER

GRAPH_FILES = [p for p in sorted(PLANT.iterdir()) if p.is_file() and p.name != "README.md"]
ISOLATION_QUESTION = "How do I isolate P-101 before changing the coupling?"


def snapshot(store) -> tuple[dict, dict]:
    """Every node (ref -> properties) and relationship ((type, start, end) -> properties)."""
    nodes = {row["n"].ref: dict(row["n"].properties) for row in store.read("MATCH (n) RETURN n")}
    rels = {}
    for row in store.read("MATCH (a)-[r]->(b) RETURN a, type(r) AS t, r, b"):
        rels[(row["t"], row["a"].ref, row["b"].ref)] = dict(row["r"].properties)
    assert len(rels) == sum(store.stats()["relationships"].values()), "no two relationships share type and ends"
    return nodes, rels


def rel_counts(store) -> dict[str, int]:
    return store.stats()["relationships"]


def _other_sources(store) -> None:
    """What other kinds of source hang on the plant's nodes: a document's chunk links and communities."""
    link_chunks(store, "manuals:p101.md", [
        ChunkLinks("c-1", "P-101 manual", ["Equipment:P-101", "Equipment:M-101", "LOTOProcedure:LOTO-P101"]),
        ChunkLinks("c-2", "P-101 manual", ["Equipment:P-101"]),
    ])  # fmt: skip
    members = [{"start": "P-101", "end": "0-1"}, {"start": "P-102", "end": "0-1"}]
    with store.source_transaction("communities") as tx:
        tx.merge_nodes("Community", [{"key": "0-1", "props": {"level": 0, "title": "raw water"}}], "communities")
        tx.merge_relationships("IN_COMMUNITY", "Equipment", "Community", members, "communities")


@pytest.fixture
def plant_copy(tmp_path) -> Path:
    """The sample plant's graph files in a folder of the test's own (so they can be changed)."""
    folder = tmp_path / "plant"
    folder.mkdir()
    for file in GRAPH_FILES:
        shutil.copy(file, folder / file.name)
    return folder


def test_reloading_an_unchanged_source_changes_nothing(graph_store, plant_copy):
    load_paths(graph_store, [plant_copy])
    _other_sources(graph_store)
    before = snapshot(graph_store)
    counts = rel_counts(graph_store)
    assert counts["ISOLATES"] and counts["HAS_SUBUNIT"] and counts["RECORDED_FOR"] and counts["SUPPORTED_BY"] == 4

    load_paths(graph_store, [plant_copy / "asset_register.csv"])
    assert rel_counts(graph_store) == counts
    assert snapshot(graph_store) == before, "an unchanged asset register changes nothing, not even a property"

    load_paths(graph_store, [plant_copy])  # every file again
    assert snapshot(graph_store) == before


def _without(lines: list[str], tag: str) -> str:
    return "".join(line for line in lines if f",{tag}," not in line)


def test_a_changed_register_removes_exactly_what_it_no_longer_asserts(graph_store, plant_copy):
    load_paths(graph_store, [plant_copy])
    _other_sources(graph_store)
    nodes, rels = snapshot(graph_store)
    register = plant_copy / "asset_register.csv"
    lines = register.read_text().splitlines(keepends=True)

    # P-102's row changes: its maker, and no driver any more.
    p102 = next(line for line in lines if ",P-102," in line)
    changed = p102.replace("Kestrel Pumps", "Other Pumps Ltd").rstrip("\n").removesuffix("M-102") + "\n"
    register.write_text("".join(changed if line == p102 else line for line in lines))
    load_paths(graph_store, [register])
    nodes_after, rels_after = snapshot(graph_store)
    assert set(rels) - set(rels_after) == {("DRIVES", "Equipment:M-102", "Equipment:P-102")}
    assert set(rels_after) <= set(rels) and all(rels_after[k] == rels[k] for k in rels_after)
    assert nodes_after["Equipment:P-102"] == {**nodes["Equipment:P-102"], "manufacturer": "Other Pumps Ltd"}
    assert {k: v for k, v in nodes_after.items() if k != "Equipment:P-102"} == {
        k: v for k, v in nodes.items() if k != "Equipment:P-102"
    }

    # P-101's row goes: its node had no other source, so it goes with what hangs on it; nothing else changes.
    nodes, rels = nodes_after, rels_after
    register.write_text(_without(register.read_text().splitlines(keepends=True), "P-101"))
    load_paths(graph_store, [register])
    nodes_after, rels_after = snapshot(graph_store)
    assert set(nodes) - set(nodes_after) == {"Equipment:P-101"}
    assert all(nodes_after[k] == nodes[k] for k in nodes_after)
    on_p101 = {k for k in rels if "Equipment:P-101" in k[1:]}
    assert {"ISOLATES", "RECORDED_FOR", "HAS_SUBUNIT", "SUPPORTED_BY", "IN_COMMUNITY"} <= {k[0] for k in on_p101}
    assert set(rels) - set(rels_after) == on_p101
    assert all(rels_after[k] == rels[k] for k in rels_after)


def test_old_folder_file_source_names_are_renamed_on_the_next_load(graph_store, plant_copy, monkeypatch):
    with monkeypatch.context() as patch:  # a graph loaded by an earlier version: sources named folder/file
        patch.setattr(loaders, "source_id", lambda path: f"{path.resolve().parent.name}/{path.name}")
        load_paths(graph_store, [plant_copy])
    old_nodes, old_rels = snapshot(graph_store)
    assert "plant/fmea.csv" in graph_store.sources()

    load_paths(graph_store, [plant_copy])
    nodes, rels = snapshot(graph_store)
    assert set(nodes) == set(old_nodes) and set(rels) == set(old_rels), "nothing duplicated, nothing lost"
    named = {s for s in graph_store.sources() if s != "vocab/iso14224"}
    assert named == {str((plant_copy / f.name).resolve()) for f in GRAPH_FILES}

    fmea = str((plant_copy / "fmea.csv").resolve())
    assert graph_store.delete_source("plant/fmea.csv")["nodes"] > 0, "a short name still names its source"
    assert fmea not in graph_store.sources() and "FMEAEntry" not in graph_store.stats()["nodes"]


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_same_file_names_in_same_named_folders_are_two_sources(graph_store, tmp_path):
    load_paths(graph_store, [_write(tmp_path / "register.csv", REGISTER), _write(tmp_path / "comp.csv", COMPONENTS)])
    first = _write(tmp_path / "a" / "plant" / "fmea.csv", FMEA_HEADER + "P-101,BRG-DE,,VIB,trip,7,wear,5,no,4,140,x\n")
    second = _write(tmp_path / "b" / "plant" / "fmea.csv", FMEA_HEADER + "P-101,BRG-DE,,OHE,seize,8,dry,4,RT,3,96,y\n")
    load_paths(graph_store, [first])
    load_paths(graph_store, [second])
    modes = "MATCH (:FMEAEntry)-[:FOR_MODE]->(m) RETURN m.code AS m ORDER BY m"
    assert graph_store.read(modes) == [{"m": "OHE"}, {"m": "VIB"}], "the second file did not replace the first"
    load_paths(graph_store, [first])
    assert graph_store.read(modes) == [{"m": "OHE"}, {"m": "VIB"}]


# -- the whole sample plant (graph, documents, CMMS) and the assistant on it ---------------------------


@pytest.fixture(scope="module")
def whole_plant(running_services):
    """The whole sample plant in a database and graph of this module's own (conftest's
    ``plant_settings`` is shared by other tests, which must not see it reloaded)."""
    with whole_plant_loaded(running_services, "reload") as loaded:
        yield loaded


def _isolation_answer(settings) -> str:
    from maintgraph.agent.session import open_assistant

    assistant = open_assistant(settings, use_model=False, record_traces=False)
    try:
        return assistant.ask(ISOLATION_QUESTION, f"t-{uuid.uuid4().hex[:10]}").answer
    finally:
        assistant.close()


def test_reloading_the_asset_register_keeps_the_plant_and_its_isolation_answer(whole_plant):
    settings, graph = whole_plant
    answer = _isolation_answer(settings)
    assert answer.startswith("Isolate first") and "LOTO-P101" in answer.partition("\n\n")[0]
    before = rel_counts(graph)
    assert before["SUPPORTED_BY"] > 0 and before["ISOLATES"] > 0

    load_paths(graph, [PLANT / "asset_register.csv"])  # unchanged
    after = rel_counts(graph)
    print("relationships before/after reloading the asset register:",
          {t: (before.get(t), after.get(t)) for t in sorted(set(before) | set(after))})  # fmt: skip
    assert after == before
    assert _isolation_answer(settings) == answer, "a routine reload does not change a safety answer"


def test_reloading_a_real_cmms_export_beside_the_plant_changes_nothing(running_services):
    """Data nobody here wrote: MaintKG's excavator work-order export (9,276 work orders) loaded
    beside the sample plant; reloading it, and the plant's register, leaves the graph as it was."""
    from maintgraph.graph.falkordb import FalkorDBStore

    from .conftest import SHARED_DATA

    graph = FalkorDBStore(running_services.services.falkordb.client(), f"real_{uuid.uuid4().hex[:8]}")
    graph.ensure_schema()
    export = SHARED_DATA / "maintkg" / "case_study_pdl.csv"
    try:
        load_paths(graph, [PLANT, export])
        before = snapshot(graph)
        load_paths(graph, [export])
        load_paths(graph, [PLANT / "asset_register.csv"])
        assert snapshot(graph) == before
        assert rel_counts(graph)["RECORDED_FOR"] > 9000
    finally:
        graph.clear()
        graph.close()
