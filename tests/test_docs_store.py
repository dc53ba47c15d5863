"""Ingestion into the real embedded Postgres + pgvector and FalkorDB, with the real MiniLM model."""

from __future__ import annotations

import shutil
import uuid

import numpy as np
import psycopg
import pytest

from maintgraph.errors import EmbeddingMismatch
from maintgraph.graph.falkordb import FalkorDBStore
from maintgraph.graph.linking import EntityLinker
from maintgraph.graph.loaders import load_paths
from maintgraph.graph.queries import failure_modes
from maintgraph.ingest.pipeline import Ingestor, delete_documents
from maintgraph.search.fusion import apply_boosts, reciprocal_rank_fusion
from maintgraph.search.store import DocumentStore, SearchFilters

from .conftest import REPO, run_cli

PLANT = REPO / "data" / "plant"
BOILERPLATE = "Read this manual in full before you install"


@pytest.fixture
def plant(running_services, pg_conninfo, embedder, tmp_path):
    """A fresh document store and plant graph, and a private copy of the plant's documents."""
    graph = FalkorDBStore(running_services.services.falkordb.client(), f"docs_{uuid.uuid4().hex[:8]}")
    graph.ensure_schema()
    load_paths(graph, [PLANT])
    store = DocumentStore(pg_conninfo)
    docs = tmp_path / "docs"
    shutil.copytree(PLANT / "docs", docs)
    ingestor = Ingestor(store, embedder, 200, graph, EntityLinker.from_store(graph))
    yield ingestor, docs
    store.close()
    graph.clear()


def search(ingestor: Ingestor, text: str, **kwargs):
    vector = ingestor.embedder.embed([text])[0]
    return ingestor.store.search(text, vector, ingestor.embedder.name, **kwargs)


def test_sample_plant_documents_are_searchable_with_citations(plant):
    ingestor, docs = plant
    report = ingestor.ingest([docs], progress=False)
    assert report.rejected == [] and report.documents == 26 and report.chunks > 150
    with ingestor.store.connect() as conn:
        stored = conn.execute("SELECT count(*) AS n FROM chunks WHERE text LIKE %s", (BOILERPLATE + "%",)).fetchone()
        copies = conn.execute("SELECT count(*) AS n FROM chunks WHERE duplicate_of IS NOT NULL").fetchone()
    assert stored["n"] == 1, "the safety boilerplate of all eight manuals is stored once"
    assert copies["n"] >= 7

    hits = search(ingestor, "P-101 drive end bearing runs hot after greasing", k=5)
    assert any("sb-2025-03" in h.source or "OPL-001" in h.source for h in hits[:2]), [h.source for h in hits]
    with ingestor.store.connect() as conn:
        for hit in hits:  # every citation is a real chunk whose text is what was returned
            row = conn.execute("SELECT text FROM chunks WHERE id = %s", (hit.chunk_id,)).fetchone()
            assert row["text"] == hit.text and hit.citation == f"[doc:{hit.chunk_id}]"

    only_p501 = search(ingestor, "bearing overhaul", k=10, filters=SearchFilters(equipment_tags=["P-501"]))
    assert only_p501 and all("P-501" in h.equipment_tags for h in only_p501)
    bulletins = search(ingestor, "grease quantity", k=10, filters=SearchFilters(doc_types=["bulletin"]))
    assert bulletins and {h.doc_type for h in bulletins} == {"bulletin"}
    assert search(ingestor, "grease quantity", k=10, filters=SearchFilters(privacy_classes=["restricted"])) == []
    boiler = search(ingestor, "qualified personnel lockout before maintenance permit", k=3)
    assert BOILERPLATE in boiler[0].text and len(boiler[0].also_in) == 7, "one hit, naming the other manuals"

    # Chunks meet graph facts: P-101's failure modes cite document chunks through SUPPORTED_BY.
    result = failure_modes(ingestor.graph, "P-101")
    assert result.chunk_ids.get("Equipment:P-101"), "P-101 is supported by document chunks"


def test_reingest_unchanged_writes_nothing_and_changed_replaces(plant):
    ingestor, docs = plant
    ingestor.ingest([docs], progress=False)
    with ingestor.store.connect() as conn:
        before = conn.execute("SELECT source, xmin::text AS x, ingested_at FROM documents ORDER BY source").fetchall()
    again = ingestor.ingest([docs], progress=False)
    assert again.documents == 0 and len(again.skipped) == 26 and again.chunks == 0
    with ingestor.store.connect() as conn:
        after = conn.execute("SELECT source, xmin::text AS x, ingested_at FROM documents ORDER BY source").fetchall()
    assert before == after, "an unchanged corpus is not rewritten"

    note = docs / "notes" / "rca-26-003-p101-de-bearing-failures.txt"
    note.write_text(note.read_text().replace("pipe strain", "pipework strain from a missing support"))
    changed = ingestor.ingest([docs], progress=False)
    assert changed.replaced == ["nfw-plant-docs:notes/rca-26-003-p101-de-bearing-failures.txt"]
    with ingestor.store.connect() as conn:
        texts = [r["text"] or "" for r in conn.execute("SELECT text FROM chunks WHERE source LIKE '%rca-26-003%'")]
    assert any("missing support" in t for t in texts) and not any("pipe strain" in t for t in texts)


def test_delete_leaves_no_orphans_and_keeps_shared_boilerplate(plant):
    ingestor, docs = plant
    ingestor.ingest([docs], progress=False)
    with ingestor.store.connect() as conn:
        owner = conn.execute("SELECT source FROM chunks WHERE text LIKE %s", (BOILERPLATE + "%",)).fetchone()["source"]
    assert delete_documents(ingestor.store, ingestor.graph, owner) == [owner]
    with ingestor.store.connect() as conn:
        left = conn.execute("SELECT count(*) AS n FROM chunks WHERE source = %s", (owner,)).fetchone()["n"]
        kept = conn.execute("SELECT count(*) AS n FROM chunks WHERE text LIKE %s", (BOILERPLATE + "%",)).fetchone()
        dangling = conn.execute(
            "SELECT count(*) AS n FROM chunks d LEFT JOIN chunks c ON c.id = d.duplicate_of "
            "WHERE d.duplicate_of IS NOT NULL AND c.id IS NULL"
        ).fetchone()
    assert left == 0 and kept["n"] == 1 and dangling["n"] == 0
    links = ingestor.graph.read("MATCH (d:DocumentChunk) WHERE d.document = $s RETURN count(d) AS n", {"s": owner})
    assert links[0]["n"] == 0, "the graph keeps no chunk node or SUPPORTED_BY link of a deleted document"
    sheet_rows = delete_documents(ingestor.store, ingestor.graph, "nfw-plant-docs:bulletins.csv")
    assert len(sheet_rows) == 13, "a sheet's name deletes every row document"


def test_bad_files_are_reported_and_the_batch_goes_on(plant, tmp_path):
    ingestor, _ = plant
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "datacard.yaml").write_text(
        "collection: batch\nowner: test\nprovenance: test\nlicence: CC0-1.0\nprivacy_class: public\nretention: 1 day\n"
    )
    (batch / "good.md").write_text("# Good\n\nCheck the P-101 coupling.\n")
    (batch / "empty.txt").write_bytes(b"")
    (batch / "latin1.txt").write_bytes("Palier chaud à 85 °C".encode("latin-1"))
    (batch / "binary.md").write_bytes(b"\x00\x01\x02" * 50)
    orphan = tmp_path / "no-card"
    orphan.mkdir()
    (orphan / "lost.md").write_text("# Lost\n\nNo data card.\n")
    report = ingestor.ingest([batch, orphan / "lost.md"], progress=False)
    reasons = dict(report.rejected)
    assert report.added == ["batch:good.md"]
    assert "empty file" in reasons[str(batch / "empty.txt")]
    assert "not UTF-8" in reasons[str(batch / "latin1.txt")]
    assert "binary content" in reasons[str(batch / "binary.md")]
    assert "no data card" in reasons[str(orphan / "lost.md")]
    with ingestor.store.connect() as conn:
        sources = [r["source"] for r in conn.execute("SELECT source FROM documents")]
    assert sources == ["batch:good.md"], "nothing partial of a bad file is stored"


def test_another_embedding_model_is_refused(plant):
    ingestor, docs = plant
    ingestor.ingest([docs / "notes"], progress=False)
    with pytest.raises(EmbeddingMismatch, match="all-MiniLM-L6-v2"):
        ingestor.store.ensure_space("other-model", 768)
    with pytest.raises(EmbeddingMismatch, match="384-d"):
        ingestor.store.search("bearing", np.ones(768, dtype=np.float32) / 768**0.5, "other-model")


def test_reciprocal_rank_fusion_rewards_agreement_and_boosts_equipment():
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["c", "d"]])
    assert max(fused, key=fused.get) == "c", "ranked by both beats first in one"
    boosted = apply_boosts({"x": 1.0, "y": 1.1}, {"x": {"equipment_tags": ["P-101"]}, "y": {}}, equipment=["p-101"])
    assert boosted["x"] > boosted["y"]


def test_docs_cli_ingest_search_list_delete(running_services, pg_conninfo, tmp_path):
    dbname = pg_conninfo.rsplit("dbname=", 1)[-1].split()[0]
    env = {"MAINTGRAPH_DATA_DIR": str(running_services.settings.data_dir), "MAINTGRAPH_PG_DATABASE": dbname,
           "MAINTGRAPH_GRAPH_NAME": f"cli_{uuid.uuid4().hex[:8]}", "MAINTGRAPH_LOG_LEVEL": "WARNING"}  # fmt: skip
    notes = tmp_path / "notes"
    shutil.copytree(PLANT / "docs" / "notes", notes)
    shutil.copy(PLANT / "docs" / "datacard.yaml", notes)
    ingest = run_cli("docs", "ingest", str(notes), env=env, timeout=300)
    assert ingest.returncode == 0, ingest.stderr
    assert "2 documents (2 new, 0 replaced)" in ingest.stdout
    found = run_cli("docs", "search", "why did the P-101 drive end bearing keep failing", "-k", "3", env=env)
    assert found.returncode == 0 and "[doc:nfw-plant-docs:rca-26-003-p101-de-bearing-failures.txt#" in found.stdout
    listed = run_cli("docs", "list", "--json", env=env)
    assert "rca-26-003" in listed.stdout
    gone = run_cli("docs", "delete", "nfw-plant-docs:rca-26-003-p101-de-bearing-failures.txt", env=env)
    assert gone.returncode == 0 and "deleted 1 document" in gone.stdout
    missing = run_cli("docs", "delete", "nfw-plant-docs:nothing.md", env=env)
    assert missing.returncode == 1 and "no document 'nfw-plant-docs:nothing.md'" in missing.stderr
    bad = run_cli("docs", "search", "x", "--filter", "colour=red", env=env)
    assert bad.returncode != 0 and "colour=red" in bad.stderr


# -- Postgres and the graph cannot commit as one: a failure between them is repaired by the next ingest --
RCA = "nfw-plant-docs:rca-26-003-p101-de-bearing-failures.txt"


def _stored(ingestor: Ingestor, source: str) -> tuple[list, list]:
    """The document's chunks (id, entity mentions) in Postgres and its SUPPORTED_BY links in the graph."""
    with ingestor.store.connect() as conn:
        chunks = conn.execute("SELECT id, entity_refs FROM chunks WHERE source = %s ORDER BY id", (source,)).fetchall()
    rows = ingestor.graph.read(
        "MATCH (f)-[:SUPPORTED_BY]->(c:DocumentChunk) WHERE c.document = $s RETURN f, c.id AS c", {"s": source}
    )
    return [(c["id"], c["entity_refs"]) for c in chunks], sorted((r["f"].ref, r["c"]) for r in rows)


def _postgres_fails_once_after_the_graph_commits(monkeypatch, method: str) -> None:
    real = getattr(DocumentStore, method)

    def failing(self, *args, before_commit=None, **kwargs):
        def graph_then_postgres_fails():
            before_commit()  # the graph commits ...
            raise psycopg.OperationalError("server closed the connection unexpectedly")  # ... Postgres does not

        monkeypatch.setattr(DocumentStore, method, real)  # once
        return real(self, *args, before_commit=graph_then_postgres_fails, **kwargs)

    monkeypatch.setattr(DocumentStore, method, failing)


def _notes(docs):
    """The plant's two notes as a collection of their own (faster than every document)."""
    shutil.copy(docs / "datacard.yaml", docs / "notes")
    return docs / "notes"


def test_links_lost_when_postgres_fails_after_the_graph_are_relinked_by_the_next_ingest(plant, monkeypatch):
    ingestor, docs = plant
    notes = _notes(docs)
    assert ingestor.ingest([notes], progress=False).added == [
        f"nfw-plant-docs:{p.name}" for p in sorted(notes.glob("*.txt"))
    ]
    chunks, links = _stored(ingestor, RCA)
    assert chunks and links

    _postgres_fails_once_after_the_graph_commits(monkeypatch, "delete")
    with pytest.raises(psycopg.OperationalError):
        delete_documents(ingestor.store, ingestor.graph, RCA)
    assert _stored(ingestor, RCA) == (chunks, []), "the document kept its rows and lost its links"

    again = ingestor.ingest([notes], progress=False)  # its content hash is unchanged
    assert _stored(ingestor, RCA) == (chunks, links), "its chunks and graph links are all there"
    assert again.relinked == [RCA] and RCA not in again.skipped
    assert ingestor.ingest([notes], progress=False).relinked == [], "and then it is skipped again"


def test_links_of_a_version_postgres_never_stored_are_replaced_by_the_next_ingest(plant, monkeypatch):
    ingestor, docs = plant
    notes = _notes(docs)
    ingestor.ingest([notes], progress=False)
    stored = _stored(ingestor, RCA)
    note = notes / "rca-26-003-p101-de-bearing-failures.txt"
    original = note.read_text()

    note.write_text(original + "\nThe same coupling is fitted to P-201 and P-301; check them at the next stop.\n")
    _postgres_fails_once_after_the_graph_commits(monkeypatch, "replace_document")
    with pytest.raises(psycopg.OperationalError):
        ingestor.ingest([notes], progress=False)
    assert _stored(ingestor, RCA)[1] != stored[1], "the graph holds the links of the version Postgres refused"

    note.write_text(original)  # back to the version Postgres holds: its hash is unchanged
    again = ingestor.ingest([notes], progress=False)
    assert _stored(ingestor, RCA) == stored
    assert again.relinked == [RCA]
