"""Refresh the graph's communities and what is derived from them, in one call for every face.

The communities are detected again (graphrag's hierarchical Leiden, seconds), then planned
against what is stored: which communities are new, changed or gone, which reports are due and
what they would cost the model (calls, tokens), which fact descriptions must be embedded into
graphrag's entity index. Nothing is written before the plan is known; a plan over
MAINTGRAPH_GRAPHRAG_BUDGET_TOKENS is refused before anything is written or asked. Then the
communities are stored, the entity index brought up to date, the reports of removed
communities dropped and the due reports written by the model.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from maintgraph.config import Settings
from maintgraph.graph.base import GraphStore

if TYPE_CHECKING:
    from maintgraph.graph.communities import Change
    from maintgraph.ingest.community_reports import ReportPlan, ReportRun
    from maintgraph.ingest.entity_vectors import EntityIndexRun

# progress(stage, done, total): each stage is announced with done=0 before its work starts.
Progress = Callable[[str, int, "int | None"], None]
EMBEDDING = "embedding entity descriptions"
REPORTING = "writing community reports"


@dataclass
class CommunityPlan:
    """What a refresh changes, and what it costs, before anything is written."""

    change: Change
    reports: ReportPlan | None  # None: reports not asked for
    to_embed: list[str]
    to_remove: list[str]

    @property
    def calls(self) -> int:
        return self.reports.calls if self.reports else 0

    @property
    def tokens(self) -> int:
        return self.reports.tokens if self.reports else 0

    def summary(self) -> dict[str, Any]:
        return {"communities": self.change.summary(), "plan": self.reports.summary() if self.reports else None,
                "entity_vectors_due": len(self.to_embed) + len(self.to_remove)}  # fmt: skip


@dataclass
class CommunityRefresh:
    plan: CommunityPlan
    dry_run: bool
    entity_vectors: EntityIndexRun | None = None  # None: a dry run
    reports: ReportRun | None = None  # None: a dry run, or no report was due

    def summary(self) -> dict[str, Any]:
        if self.dry_run:
            return {**self.plan.summary(), "dry_run": True, "calls": self.plan.calls, "tokens": self.plan.tokens}
        done = {**self.plan.summary(), "entity_vectors": self.entity_vectors.summary() if self.entity_vectors else None}
        return done | ({"reports": self.reports.summary()} if self.reports else {})


def refresh_communities(settings: Settings, graph: GraphStore, *, dry_run: bool = False,
                        reports: bool = True, on_plan: Callable[[CommunityPlan], None] | None = None,
                        progress: Progress | None = None) -> CommunityRefresh:  # fmt: skip
    """Detect ``graph``'s communities and bring the stored communities, the entity index and
    (with ``reports``) the community reports up to date. ``on_plan`` hears the plan before
    anything is written; a ``dry_run`` stops there."""
    from maintgraph.connections import pg_conninfo
    from maintgraph.graph.communities import refresh, write_communities
    from maintgraph.ingest.community_reports import check_budget, plan, remove_reports, write_reports
    from maintgraph.ingest.entity_vectors import due, index_entities
    from maintgraph.search.embeddings import build_embedder
    from maintgraph.search.graphrag_vectors import entity_index
    from maintgraph.search.store import DocumentStore

    def stage(name: str, total: int | None) -> Callable[[int, int], None]:
        if progress is None:
            return lambda _done, _total: None
        progress(name, 0, total)
        return lambda done, _total: progress(name, done, total)

    embedder = build_embedder(settings)
    conninfo = pg_conninfo(settings)
    with closing(entity_index(conninfo, embedder, settings.connect_timeout_s)) as entities:
        tables, found, change = refresh(graph, settings.graphrag_max_cluster_size, settings.graphrag_seed, write=False)
        planned = plan(settings, tables, found, change) if reports else None
        to_embed, gone, _ = due(entities, tables, embedder)
        laid_out = CommunityPlan(change, planned, to_embed, gone)
        if on_plan is not None:
            on_plan(laid_out)
        if dry_run:
            return CommunityRefresh(laid_out, dry_run=True)
        if planned:
            check_budget(settings, planned)
        write_communities(graph, found, change)
        with closing(DocumentStore(conninfo, settings.connect_timeout_s)) as docs:
            done = CommunityRefresh(laid_out, dry_run=False)
            done.entity_vectors = index_entities(entities, tables, embedder,
                                                 progress=stage(EMBEDDING, len(to_embed) or None))  # fmt: skip
            remove_reports(docs, change.removed)
            if planned and planned.calls:
                done.reports = write_reports(settings, graph, docs, embedder, tables, found, planned,
                                             progress=stage(REPORTING, planned.calls))  # fmt: skip
    return done
