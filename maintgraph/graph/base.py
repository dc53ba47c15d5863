"""The GraphStore interface and the typed records it returns.

Two adapters implement it: :mod:`maintgraph.graph.falkordb` (embedded default) and
:mod:`maintgraph.graph.neo4j` (production). Shared Cypher (MERGE batches, multi-hop reads)
stays in the subset both engines run and lives here or in ``queries.py``; DDL and anything
engine-specific lives in the adapters.

Results never expose driver objects: nodes are identified by label and natural key
(``Equipment:P-101``), which is the same in every engine, so two adapters holding the same
data return equal results.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from maintgraph.graph.schema import NODE_TYPES, SOURCES, node_type, rel_type


@dataclass(frozen=True)
class NodeIdentity:
    """What names a node in every engine: its schema label and natural key. A graph node and an
    entity-linking candidate are both one, so both cite it the same way."""

    label: str
    key: str

    @property
    def ref(self) -> str:
        """Citable id: ``Label:key``."""
        return f"{self.label}:{self.key}"


@dataclass(frozen=True)
class GraphNode(NodeIdentity):
    properties: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class GraphRelationship:
    type: str
    start: str  # ref of the start node
    end: str
    properties: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def ref(self) -> str:
        return f"{self.start}-[{self.type}]->{self.end}"


@dataclass(frozen=True)
class GraphPath:
    nodes: tuple[GraphNode, ...]
    relationships: tuple[GraphRelationship, ...]

    @property
    def ref(self) -> str:
        return " ".join(n.ref for n in self.nodes)


Row = dict[str, Any]


def primary_label(labels: Sequence[str]) -> str:
    """The schema label of a node (nodes may carry extra labels)."""
    for label in labels:
        if label in NODE_TYPES:
            return label
    return labels[0] if labels else ""


def to_node(labels: Sequence[str], properties: Mapping[str, Any]) -> GraphNode:
    label = primary_label(labels)
    key_prop = NODE_TYPES[label].key if label in NODE_TYPES else "id"
    return GraphNode(label, str(properties.get(key_prop, "")), dict(properties))


# -- shared write Cypher (runs on FalkorDB and Neo4j alike) ----------------------------------

_ADD_SOURCE = (
    "CASE WHEN {v}.sources IS NULL THEN [$source] "
    "WHEN $source IN {v}.sources THEN {v}.sources ELSE {v}.sources + $source END"
)


def merge_nodes_cypher(label: str) -> str:
    key = node_type(label).key
    return (
        f"UNWIND $rows AS row MERGE (n:{label} {{{key}: row.key}}) "
        f"SET n += row.props SET n.{SOURCES} = {_ADD_SOURCE.format(v='n')}"
    )


def merge_relationships_cypher(rel: str, start_label: str, end_label: str) -> str:
    spec = rel_type(rel)
    if start_label not in spec.start or end_label not in spec.end:
        raise ValueError(f"{rel} does not go from {start_label} to {end_label}")
    start_key, end_key = node_type(start_label).key, node_type(end_label).key
    return (
        f"UNWIND $rows AS row MATCH (a:{start_label} {{{start_key}: row.start}}) "
        f"MATCH (b:{end_label} {{{end_key}: row.end}}) MERGE (a)-[r:{rel}]->(b) "
        f"SET r += row.props SET r.{SOURCES} = {_ADD_SOURCE.format(v='r')}"
    )


class GraphWriter(ABC):
    """Writes of one source, applied all together or not at all."""

    @abstractmethod
    def run(self, query: str, params: Mapping[str, Any] | None = None) -> None: ...

    @abstractmethod
    def read(self, query: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        """Read inside the transaction (sees its own writes)."""

    def merge_nodes(self, label: str, rows: Sequence[Mapping[str, Any]], source: str, batch: int = 2000) -> int:
        """MERGE nodes on their natural key; ``rows`` are ``{"key": ..., "props": {...}}``."""
        query = merge_nodes_cypher(label)
        for chunk in batches(rows, batch):
            self.run(query, {"rows": chunk, "source": source})
        return len(rows)

    def merge_relationships(
        self, rel: str, start_label: str, end_label: str, rows: Sequence[Mapping[str, Any]], source: str,
        batch: int = 2000,
    ) -> int:  # fmt: skip
        """MERGE relationships; ``rows`` are ``{"start": key, "end": key, "props": {...}}``."""
        query = merge_relationships_cypher(rel, start_label, end_label)
        for chunk in batches(rows, batch):
            self.run(query, {"rows": chunk, "source": source})
        return len(rows)


def batches(rows: Sequence[Mapping[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    """Batches for UNWIND; a row without ``props`` has none (``SET x += null`` is an error)."""
    for start in range(0, len(rows), size):
        yield [{**row, "props": row.get("props") or {}} for row in rows[start : start + size]]


class GraphStore(ABC):
    """One knowledge graph, in whichever engine."""

    engine: str

    @abstractmethod
    def ensure_schema(self) -> None:
        """Create the uniqueness constraints and lookup indexes (idempotent)."""

    @abstractmethod
    def read(self, query: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        """Run a read-only query; values come back as GraphNode/GraphRelationship/GraphPath or plain data."""

    @abstractmethod
    def source_transaction(self, source: str) -> AbstractContextManager[GraphWriter]:
        """A writer whose writes all land when the block exits normally, and none if it raises."""

    @abstractmethod
    def clear(self) -> None:
        """Delete every node and relationship (tests, `graph load --replace`)."""

    @abstractmethod
    def close(self) -> None: ...

    # -- shared, engine-neutral operations ------------------------------------------------

    def stats(self) -> dict[str, dict[str, int]]:
        nodes = {
            r["label"]: r["n"] for r in self.read("MATCH (n) UNWIND labels(n) AS label RETURN label, count(*) AS n")
        }
        rels = {r["type"]: r["n"] for r in self.read("MATCH ()-[r]->() RETURN type(r) AS type, count(*) AS n")}
        return {"nodes": dict(sorted(nodes.items())), "relationships": dict(sorted(rels.items()))}

    def delete_source(self, source: str) -> dict[str, int]:
        """Remove what only ``source`` asserted; facts other sources also assert just lose it."""
        with self.source_transaction(source) as tx:
            return remove_source(tx, source)

    def existing_keys(self, label: str, keys: Sequence[str]) -> set[str]:
        key = node_type(label).key
        rows = self.read(f"MATCH (n:{label}) WHERE n.{key} IN $keys RETURN n.{key} AS k", {"keys": list(keys)})
        return {r["k"] for r in rows}

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def remove_source(tx: GraphWriter, source: str) -> dict[str, int]:
    """Inside a source transaction: drop what only ``source`` asserted, un-cite it elsewhere."""
    only = {"source": source}
    counts = {
        "relationships": _count(tx.read(f"MATCH ()-[r]->() WHERE r.{SOURCES} = [$source] RETURN count(r) AS n", only)),
        "nodes": _count(tx.read(f"MATCH (n) WHERE n.{SOURCES} = [$source] RETURN count(n) AS n", only)),
    }
    tx.run(f"MATCH ()-[r]->() WHERE r.{SOURCES} = [$source] DELETE r", only)
    tx.run(f"MATCH (n) WHERE n.{SOURCES} = [$source] DETACH DELETE n", only)
    for var, pattern in (("r", "()-[r]->()"), ("n", "(n)")):
        tx.run(
            f"MATCH {pattern} WHERE $source IN {var}.{SOURCES} "
            f"SET {var}.{SOURCES} = [s IN {var}.{SOURCES} WHERE s <> $source]",
            only,
        )
    return counts


def _count(rows: list[Row]) -> int:
    return int(rows[0]["n"]) if rows else 0
