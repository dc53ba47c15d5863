"""graphrag's entity-description vectors, kept in pgvector through graphrag's vector store interface.

graphrag's local and DRIFT searches find the entities a question is about by the embeddings of
their descriptions (its index ``entity_description``). The graph's facts, as
:func:`maintgraph.graph.communities.export_graph` describes them, are embedded with the
product's embedder into that index (:mod:`maintgraph.search.graphrag_vectors`), incrementally:
a fact whose description (or the embedder) changed is embedded again, a fact that is gone is
removed, the rest is left alone.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from maintgraph.graph.communities import GraphTables
from maintgraph.search.embeddings import Embedder
from maintgraph.search.graphrag_vectors import PgVectorStore

BATCH = 64


@dataclass
class EntityIndexRun:
    embedded: int = 0
    unchanged: int = 0
    removed: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        return f"{self.embedded} embedded, {self.unchanged} unchanged, {self.removed} removed"


def fingerprint(embedder: Embedder, description: str) -> str:
    return hashlib.sha256(f"{embedder.name}\n{description}".encode()).hexdigest()[:16]


def due(store: PgVectorStore, tables: GraphTables, embedder: Embedder) -> tuple[list[str], list[str], int]:
    """(facts to embed, ids to remove, facts unchanged)."""
    stored = store.data_by_id("fingerprint")
    todo = [ref for ref, fact in tables.facts.items() if stored.get(ref) != fingerprint(embedder, fact.description)]
    gone = sorted(set(stored) - set(tables.facts))
    return todo, gone, len(tables.facts) - len(todo)


def index_entities(store: PgVectorStore, tables: GraphTables, embedder: Embedder,
                   progress: Callable[[int, int], None] | None = None) -> EntityIndexRun:  # fmt: skip
    """Embed the facts whose description changed, remove those that are gone; each batch is
    written as it is embedded, so an interrupted run keeps what it did and the next one resumes."""
    from graphrag_vectors import VectorStoreDocument

    started = time.monotonic()
    todo, gone, unchanged = due(store, tables, embedder)
    for start in range(0, len(todo), BATCH):
        facts = [tables.facts[ref] for ref in todo[start : start + BATCH]]
        vectors = embedder.embed([f.description for f in facts])
        store.load_documents([
            VectorStoreDocument(f.ref, [float(x) for x in vector],
                                {"title": f.ref, "type": f.label, "description": f.description,
                                 "fingerprint": fingerprint(embedder, f.description)})
            for f, vector in zip(facts, vectors, strict=True)
        ])  # fmt: skip
        if progress:
            progress(min(start + BATCH, len(todo)), len(todo))
    if gone:
        store.remove(gone)
    return EntityIndexRun(len(todo), unchanged, len(gone), time.monotonic() - started)
