"""Document chunks in the graph: ``(fact)-[:SUPPORTED_BY]->(:DocumentChunk)`` per document.

Document ingestion calls these functions and nothing else of the graph's internals. Each
document is its own graph source (``doc:<document source>``), so replacing or deleting a
document replaces or removes exactly the links it made, and nothing another source asserted.
Each chunk node carries the content hash of the document version that linked it: with the
number of its links, that is the mark ingestion checks to tell a document whose links are
whole from one whose links were lost (:func:`link_marks`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from maintgraph.graph.base import GraphStore, remove_source
from maintgraph.graph.loaders.batch import GraphBatch, LoadReport, commit
from maintgraph.graph.loaders.tabular import Problems


@dataclass(frozen=True)
class ChunkLinks:
    chunk_id: str
    title: str
    node_refs: Sequence[str]  # "Label:key" of the facts the chunk supports
    content_hash: str = ""  # of the document version whose chunk this is


@dataclass(frozen=True)
class LinkMark:
    """What the graph holds for one chunk: its links and the document version that made them."""

    links: int
    content_hash: str | None


def graph_source(document_source: str) -> str:
    return f"doc:{document_source}"


def link_chunks(store: GraphStore, document_source: str, chunks: Sequence[ChunkLinks]) -> LoadReport:
    """Write (replace) the chunk nodes of one document and their SUPPORTED_BY links."""
    source = graph_source(document_source)
    batch = GraphBatch(source, Problems(source))
    for chunk in chunks:
        if not chunk.node_refs:
            continue
        props = {"document": document_source, "title": chunk.title, "content_hash": chunk.content_hash}
        batch.node("DocumentChunk", chunk.chunk_id, props)
        for ref in chunk.node_refs:
            label, _, key = ref.partition(":")
            batch.rel("SUPPORTED_BY", (label, key), ("DocumentChunk", chunk.chunk_id))
    return commit(store, batch)


def link_marks(store: GraphStore, chunk_ids: Sequence[str]) -> dict[str, LinkMark]:
    """The graph's marks of these chunks (a chunk with no node is absent)."""
    if not chunk_ids:
        return {}
    rows = store.read(
        "MATCH (c:DocumentChunk) WHERE c.id IN $ids OPTIONAL MATCH (f)-[r:SUPPORTED_BY]->(c) "
        "RETURN c.id AS id, c.content_hash AS h, count(r) AS n",
        {"ids": list(chunk_ids)},
    )
    return {row["id"]: LinkMark(int(row["n"]), row["h"]) for row in rows}


def unlink_document(store: GraphStore, document_source: str) -> dict[str, int]:
    """Remove the chunk nodes and links one document made."""
    source = graph_source(document_source)
    with store.source_transaction(source) as tx:
        return remove_source(tx, source)
