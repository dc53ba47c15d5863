"""Communities of the knowledge graph (GraphRAG), kept in the graph as ``Community`` nodes.

The facts (every node but document chunks) and their relationships are exported into the
shapes of graphrag's ``entities`` and ``relationships`` tables; graphrag's hierarchical Leiden
(``cluster_graph``, graspologic's native Leiden) groups them into nested communities. Each
community is stored with ``IN_COMMUNITY`` from its member facts and ``PART_OF`` to its parent
community one level up.

Leiden numbers its clusters afresh on every run, so a community is keyed by what it holds: its
level and the hash of its members' ids. A re-run after a change therefore finds which
communities are unchanged (same key, same facts), changed (same members, a member's facts
edited: its report must be rewritten), new or gone, and writes only those.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from maintgraph.errors import MaintgraphError
from maintgraph.graph.base import GraphNode, GraphRelationship, GraphStore

log = logging.getLogger(__name__)

SOURCE = "graphrag:communities"  # the graph source the communities are written under
REPORT_DOC_TYPE = "community_report"  # the document type of their reports in the document store
REPORT_SOURCE = "graphrag:report/"  # + community key: a report's document source (cited doc:graphrag:report/<key>#0)
NOT_FACTS = ("DocumentChunk", "Community")  # text units and the communities themselves
NOT_FACT_LINKS = ("SUPPORTED_BY", "IN_COMMUNITY", "PART_OF")
SKIPPED_PROPERTIES = {"sources", "steps", "long_text"}  # provenance, and texts too long for a summary line


class CommunityError(MaintgraphError):
    """The graph cannot be clustered (empty, or facts with no relationships); nothing was written."""


@dataclass(frozen=True)
class Fact:
    """An entity of graphrag's table: one node of the knowledge graph."""

    ref: str  # Label:key, the graph's citable id and graphrag's entity title
    label: str
    description: str
    chunks: tuple[str, ...] = ()  # the document chunks that support it (graphrag's text units)


@dataclass(frozen=True)
class Link:
    start: str
    type: str
    end: str

    @property
    def ref(self) -> str:
        return f"{self.start}-[{self.type}]->{self.end}"


@dataclass
class GraphTables:
    """The graph as graphrag's entities and relationships."""

    facts: dict[str, Fact]
    links: list[Link]

    def entities(self) -> Any:
        import pandas as pd

        degree = self.degrees()
        return pd.DataFrame([
            {"id": f.ref, "human_readable_id": i, "title": f.ref, "type": f.label, "description": f.description,
             "text_unit_ids": list(f.chunks), "frequency": 1, "degree": degree.get(f.ref, 0)}
            for i, f in enumerate(self.facts.values())
        ])  # fmt: skip

    def relationships(self) -> Any:
        import pandas as pd

        degree = self.degrees()
        return pd.DataFrame([
            {"id": link.ref, "human_readable_id": i, "source": link.start, "target": link.end,
             "description": f"{link.start} {link.type} {link.end}", "weight": 1.0,
             "combined_degree": degree[link.start] + degree[link.end],
             "text_unit_ids": sorted(set(self.facts[link.start].chunks) | set(self.facts[link.end].chunks))}
            for i, link in enumerate(self.links)
        ])  # fmt: skip

    def degrees(self) -> dict[str, int]:
        degree: dict[str, int] = {}
        for link in self.links:
            degree[link.start] = degree.get(link.start, 0) + 1
            degree[link.end] = degree.get(link.end, 0) + 1
        return degree


@dataclass(frozen=True)
class Community:
    key: str  # L<level>-<hash of the members>: the same members give the same key on every run
    level: int
    parent: str | None  # the key of the community one level up
    members: tuple[str, ...]  # fact refs, sorted
    headline: tuple[str, ...]  # the best-connected members, for its title
    links: tuple[str, ...]  # refs of the relationships between members
    chunks: tuple[str, ...]  # document chunks supporting the members
    fingerprint: str  # hash of the members' facts and links: a change means the report is stale

    @property
    def title(self) -> str:
        more = len(self.members) - len(self.headline)
        return f"Community {self.key}: {', '.join(self.headline)}" + (f" and {more} more" if more else "")


@dataclass
class Change:
    """What a run found against the stored communities, and wrote."""

    unchanged: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # same members, edited facts: the report is stale
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unreported: list[str] = field(default_factory=list)  # unchanged, but without a current report
    levels: dict[int, int] = field(default_factory=dict)  # level -> communities
    unclustered: int = 0  # facts without any relationship

    def needs_report(self) -> list[str]:
        return [*self.added, *self.changed, *self.unreported]

    def summary(self) -> str:
        levels = ", ".join(f"level {lv}: {n}" for lv, n in sorted(self.levels.items()))
        alone = f"; {self.unclustered} facts with no relationship are in none" if self.unclustered else ""
        return (f"{sum(self.levels.values())} communities ({levels}): {len(self.unchanged)} unchanged, "
                f"{len(self.changed)} changed, {len(self.added)} new, {len(self.removed)} removed{alone}")  # fmt: skip


# -- export -----------------------------------------------------------------------------------------


def export_graph(store: GraphStore) -> GraphTables:
    """Every fact and relationship of the graph (chunks and communities aside), in graphrag's shapes."""
    not_facts = " AND ".join(f"NOT n:{label}" for label in NOT_FACTS)
    chunks: dict[str, set[str]] = {}
    for row in store.read("MATCH (n)-[:SUPPORTED_BY]->(d:DocumentChunk) RETURN n, d.id AS chunk"):
        chunks.setdefault(row["n"].ref, set()).add(row["chunk"])
    facts = {}
    for row in store.read(f"MATCH (n) WHERE {not_facts} RETURN n"):
        node: GraphNode = row["n"]
        facts[node.ref] = Fact(node.ref, node.label, describe(node), tuple(sorted(chunks.get(node.ref, ()))))
    links = []
    kept = " AND ".join(f"type(r) <> '{t}'" for t in NOT_FACT_LINKS)
    for row in store.read(f"MATCH (a)-[r]->(b) WHERE {kept} RETURN a, r, b"):
        rel: GraphRelationship = row["r"]
        start, end = row["a"].ref, row["b"].ref
        if start in facts and end in facts:
            links.append(Link(start, rel.type, end))
    links.sort(key=lambda link: link.ref)  # the same graph gives the same table, whatever the engine's order
    return GraphTables(dict(sorted(facts.items())), links)


def describe(node: GraphNode) -> str:
    """One line a report can be written from: the fact's id and its properties."""
    props = {k: v for k, v in sorted(node.properties.items()) if k not in SKIPPED_PROPERTIES and v not in (None, "")}
    return f"{node.ref}: " + "; ".join(f"{k} {_text(v)}" for k, v in props.items())


def _text(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)[:300]


# -- detection --------------------------------------------------------------------------------------


def detect(tables: GraphTables, max_cluster_size: int = 10, seed: int = 42) -> list[Community]:
    """Hierarchical Leiden (graphrag's ``cluster_graph``) over the relationships; CommunityError
    for a graph with nothing to cluster."""
    from graphrag.index.operations.cluster_graph import cluster_graph

    if not tables.facts:
        raise CommunityError("the graph is empty: load the plant first (`maintgraph graph load`); nothing written")
    if not tables.links:
        raise CommunityError(f"the graph's {len(tables.facts)} facts have no relationships between them, so they "
                             "form no communities; nothing written")  # fmt: skip
    # Not restricted to the largest connected component: a plant's separate systems are communities too.
    clusters = cluster_graph(tables.relationships(), max_cluster_size, use_lcc=False, seed=seed)
    degree = tables.degrees()
    members = {(level, number): tuple(sorted(titles)) for level, number, _, titles in clusters}
    keys = {pair: _key(pair[0], refs) for pair, refs in members.items()}
    parents = {(level, number): parent for level, number, parent, _ in clusters}
    communities = []
    for (level, number), refs in sorted(members.items()):
        inside = set(refs)
        links = sorted(link.ref for link in tables.links if link.start in inside and link.end in inside)
        chunks = sorted({c for ref in refs for c in tables.facts[ref].chunks})
        parent = parents[(level, number)]
        parent_key = keys.get((level - 1, parent)) if parent is not None and parent >= 0 else None
        facts = [tables.facts[ref].description for ref in refs]
        headline = tuple(r.split(":", 1)[1] for r in sorted(refs, key=lambda r: (-degree.get(r, 0), r))[:4])
        communities.append(Community(keys[(level, number)], level, parent_key, refs, headline, tuple(links),
                                     tuple(chunks), _hash([*facts, *links])))  # fmt: skip
    return communities


def _key(level: int, refs: Iterable[str]) -> str:
    return f"L{level}-{_hash(list(refs))[:12]}"


def _hash(items: list[str]) -> str:
    return hashlib.sha256(json.dumps(items, ensure_ascii=False).encode()).hexdigest()


# -- storage ----------------------------------------------------------------------------------------


def stored_communities(store: GraphStore) -> dict[str, dict[str, Any]]:
    """key -> the stored community's properties (fingerprint, report state, ...)."""
    return {row["c"].key: dict(row["c"].properties) for row in store.read("MATCH (c:Community) RETURN c")}


def compare(found: list[Community], stored: dict[str, dict[str, Any]]) -> Change:
    change = Change()
    for community in found:
        change.levels[community.level] = change.levels.get(community.level, 0) + 1
        before = stored.get(community.key)
        if before is None:
            change.added.append(community.key)
        elif before.get("fingerprint") != community.fingerprint:
            change.changed.append(community.key)
        else:
            change.unchanged.append(community.key)
            if before.get("report_status") != "reported":
                change.unreported.append(community.key)
    keys = {c.key for c in found}
    change.removed = sorted(k for k in stored if k not in keys)
    return change


def write_communities(store: GraphStore, found: list[Community], change: Change) -> None:
    """Apply ``change``: one transaction, so a failure leaves the previous communities whole. A new
    community's report is ``pending``; a changed one's ``stale`` (kept until it is rewritten)."""
    status = {**dict.fromkeys(change.added, "pending"), **dict.fromkeys(change.changed, "stale")}
    rows = [{"key": c.key, "props": {"level": c.level, "title": c.title, "size": len(c.members), "parent": c.parent,
                                     "fingerprint": c.fingerprint,
                                     **({"report_status": status[c.key]} if c.key in status else {})}}
            for c in found]  # fmt: skip
    members: dict[str, list[dict[str, Any]]] = {}
    for community in found:
        if community.key in change.added:  # a key names its members: only a new community has new ones
            for ref in community.members:
                label, key = ref.split(":", 1)
                members.setdefault(label, []).append({"start": key, "end": community.key, "props": {}})
    with store.source_transaction(SOURCE) as tx:
        if change.removed:
            tx.run("MATCH (c:Community) WHERE c.key IN $keys DETACH DELETE c", {"keys": change.removed})
        tx.merge_nodes("Community", rows, SOURCE)
        for label, rels in members.items():
            tx.merge_relationships("IN_COMMUNITY", label, "Community", rels, SOURCE)
        # A parent may be new while its child is not: the hierarchy is rewritten whole (it is small).
        tx.run("MATCH (:Community)-[r:PART_OF]->(:Community) DELETE r")
        parts = [{"start": c.key, "end": c.parent, "props": {}} for c in found if c.parent]
        tx.merge_relationships("PART_OF", "Community", "Community", parts, SOURCE)


def refresh(store: GraphStore, max_cluster_size: int = 10, seed: int = 42,
            write: bool = True) -> tuple[GraphTables, list[Community], Change]:  # fmt: skip
    """Detect the graph's communities and (unless ``write`` is off) store what changed."""
    tables = export_graph(store)
    found = detect(tables, max_cluster_size, seed)
    change = compare(found, stored_communities(store))
    change.unclustered = len(set(tables.facts) - {m for c in found if c.level == 0 for m in c.members})
    if write:
        write_communities(store, found, change)
        log.info("communities: %s", change.summary())
    return tables, found, change
