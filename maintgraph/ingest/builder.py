"""The ingest pipeline on the configured embedder, graph and guards: what every face ingests with."""

from __future__ import annotations

from typing import TYPE_CHECKING

from maintgraph.graph import queries
from maintgraph.graph.linking import EntityLinker
from maintgraph.ingest.pipeline import Ingestor
from maintgraph.ingest.readers.limits import ReadLimits
from maintgraph.search.embeddings import build_embedder

if TYPE_CHECKING:
    from maintgraph.config import Settings
    from maintgraph.graph.base import GraphStore
    from maintgraph.search.store import DocumentStore


def build_ingestor(settings: Settings, docs: DocumentStore, graph: GraphStore) -> Ingestor:
    """An :class:`Ingestor` writing to ``docs`` and linking to ``graph``; with the guards on, personal
    data is scrubbed before anything is embedded (the plant's manufacturers and sites are allowed)."""
    scrub = None
    if settings.guard_enabled:
        from maintgraph.guardrails.guard import GuardConfig, PlantGuards

        scrub = PlantGuards(GuardConfig.from_settings(settings).allowing(queries.plant_names(graph))).scrub
    return Ingestor(docs, build_embedder(settings), settings.chunk_max_tokens, graph, EntityLinker.from_store(graph),
                    scrub=scrub, limits=ReadLimits.from_settings(settings))  # fmt: skip
