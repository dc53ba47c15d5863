"""Document chunks in the graph: ``(fact)-[:SUPPORTED_BY]->(:DocumentChunk)`` per document.

Document ingestion calls these two functions and nothing else of the graph's internals. Each
document is its own graph source (``doc:<document source>``), so replacing or deleting a
document replaces or removes exactly the links it made, and nothing another source asserted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from maintgraph.graph.base import GraphStore
from maintgraph.graph.loaders.batch import GraphBatch, LoadReport, commit
from maintgraph.graph.loaders.tabular import Problems


@dataclass(frozen=True)
class ChunkLinks:
    chunk_id: str
    title: str
    node_refs: Sequence[str]  # "Label:key" of the facts the chunk supports


def graph_source(document_source: str) -> str:
    return f"doc:{document_source}"


def link_chunks(store: GraphStore, document_source: str, chunks: Sequence[ChunkLinks]) -> LoadReport:
    """Write (replace) the chunk nodes of one document and their SUPPORTED_BY links."""
    source = graph_source(document_source)
    batch = GraphBatch(source, Problems(source))
    for chunk in chunks:
        if not chunk.node_refs:
            continue
        batch.node("DocumentChunk", chunk.chunk_id, {"document": document_source, "title": chunk.title})
        for ref in chunk.node_refs:
            label, _, key = ref.partition(":")
            batch.rel("SUPPORTED_BY", (label, key), ("DocumentChunk", chunk.chunk_id))
    return commit(store, batch)


def unlink_document(store: GraphStore, document_source: str) -> dict[str, int]:
    """Remove the chunk nodes and links one document made."""
    return store.delete_source(graph_source(document_source))
