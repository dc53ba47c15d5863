"""The ingest pipeline on the configured embedder, graph and guards: what every face ingests with."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from maintgraph.graph import queries
from maintgraph.graph.linking import EntityLinker
from maintgraph.graph.loaders.mode_mapping import SimilarityModeMapper
from maintgraph.ingest.pipeline import Ingestor
from maintgraph.ingest.readers.limits import ReadLimits
from maintgraph.search.embeddings import build_embedder

if TYPE_CHECKING:
    from maintgraph.config import Settings
    from maintgraph.graph.base import GraphStore
    from maintgraph.search.embeddings import Embedder
    from maintgraph.search.store import DocumentStore

# Cosine between a plant's failure-mode text and an ISO mode's label ("Vibration: vibration,
# shaking, ...") with the packaged all-MiniLM-L6-v2. On a hand-labelled list of 29 modes
# (tests/test_fmea_layouts.py) 0.5 let wrong codes in ("Air leak at flange" -> LCP); from 0.55 up
# every code it adds is right ("Oil pressure low" -> LBP, "Fail to trip on demand" -> FTF).
MODE_SIMILARITY_THRESHOLD = 0.6
MODE_SIMILARITY_MARGIN = 0.05


def build_ingestor(settings: Settings, docs: DocumentStore, graph: GraphStore) -> Ingestor:
    """An :class:`Ingestor` writing to ``docs`` and linking to ``graph``; with the guards on, personal
    data is scrubbed before anything is embedded (the plant's manufacturers and sites are allowed)."""
    scrub = None
    if settings.guard_enabled:
        from maintgraph.guardrails.guard import GuardConfig, PlantGuards

        scrub = PlantGuards(GuardConfig.from_settings(settings).allowing(queries.plant_names(graph))).scrub
    return Ingestor(docs, build_embedder(settings), settings.chunk_max_tokens, graph, EntityLinker.from_store(graph),
                    scrub=scrub, limits=ReadLimits.from_settings(settings))  # fmt: skip


def build_mode_mapper(settings: Settings) -> SimilarityModeMapper:
    """Free-text failure modes -> ISO 14224 codes: the vocabulary's words, then the configured
    embedding model for what they leave open (loaded only when a sheet has such a mode)."""
    embedder: Embedder | None = None

    def similarity(texts: Sequence[str], labels: Sequence[str]) -> list[list[float]]:
        nonlocal embedder
        embedder = embedder or build_embedder(settings)
        return (embedder.embed(list(texts)) @ embedder.embed(list(labels)).T).tolist()  # normalised: cosine

    return SimilarityModeMapper(similarity, threshold=MODE_SIMILARITY_THRESHOLD, margin=MODE_SIMILARITY_MARGIN)
