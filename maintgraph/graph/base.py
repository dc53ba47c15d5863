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
from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from maintgraph.errors import GraphQueryError
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


def replace_owned_nodes_cypher(label: str) -> str:
    """Before a MERGE: the nodes only ``$source`` asserts take exactly the row's properties."""
    key = node_type(label).key
    return f"UNWIND $rows AS row MATCH (n:{label} {{{key}: row.key}}) WHERE n.{SOURCES} = [$source] SET n = row.whole"


def replace_owned_relationships_cypher(rel: str, start_label: str, end_label: str) -> str:
    start_key, end_key = node_type(start_label).key, node_type(end_label).key
    return (
        f"UNWIND $rows AS row MATCH (a:{start_label} {{{start_key}: row.start}})-[r:{rel}]->"
        f"(b:{end_label} {{{end_key}: row.end}}) WHERE r.{SOURCES} = [$source] SET r = row.whole"
    )


class GraphWriter(ABC):
    """Writes of one source, applied all together or not at all."""

    @abstractmethod
    def run(self, query: str, params: Mapping[str, Any] | None = None) -> None: ...

    @abstractmethod
    def read(self, query: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        """Read inside the transaction (sees its own writes)."""

    def merge_nodes(
        self, label: str, rows: Sequence[Mapping[str, Any]], source: str, batch: int = 2000, exact: bool = False
    ) -> int:
        """MERGE nodes on their natural key; ``rows`` are ``{"key": ..., "props": {...}}``.

        ``exact``: a node only ``source`` asserts gets exactly ``props`` (a property the source
        no longer gives goes); a node other sources also assert only gains them."""
        key = node_type(label).key
        for chunk in batches(rows, batch):
            if exact:
                whole = [{"key": r["key"], "whole": {**r["props"], key: r["key"], SOURCES: [source]}} for r in chunk]
                self.run(replace_owned_nodes_cypher(label), {"rows": whole, "source": source})
            self.run(merge_nodes_cypher(label), {"rows": chunk, "source": source})
        return len(rows)

    def merge_relationships(
        self, rel: str, start_label: str, end_label: str, rows: Sequence[Mapping[str, Any]], source: str,
        batch: int = 2000, exact: bool = False,
    ) -> int:  # fmt: skip
        """MERGE relationships; ``rows`` are ``{"start": key, "end": key, "props": {...}}``
        (``exact`` as for :meth:`merge_nodes`)."""
        query = merge_relationships_cypher(rel, start_label, end_label)
        for chunk in batches(rows, batch):
            if exact and rel_type(rel).properties:  # only these carry properties a source may drop
                whole = [{**r, "whole": {**r["props"], SOURCES: [source]}} for r in chunk]
                replace = replace_owned_relationships_cypher(rel, start_label, end_label)
                self.run(replace, {"rows": whole, "source": source})
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
        """Remove what only ``source`` asserted; facts other sources also assert just lose it.

        ``source`` is a source id as loaded, or the end of exactly one (``plant/fmea.csv`` names
        ``/srv/data/plant/fmea.csv``)."""
        source = self.resolve_source(source)
        with self.source_transaction(source) as tx:
            return remove_source(tx, source)

    def sources(self) -> list[str]:
        """Every source id that asserts something in the graph."""
        found = {r["s"] for r in self.read(f"MATCH (n) UNWIND n.{SOURCES} AS s RETURN DISTINCT s")}
        found |= {r["s"] for r in self.read(f"MATCH ()-[r]->() UNWIND r.{SOURCES} AS s RETURN DISTINCT s")}
        return sorted(found)

    def resolve_source(self, name: str) -> str:
        """The source id ``name`` stands for: itself when loaded, else the one loaded source whose
        path ends with it; a name that matches several is refused (name the source whole)."""
        known = self.sources()
        if name in known:
            return name
        matches = [s for s in known if s.endswith("/" + name.lstrip("/"))]
        if len(matches) > 1:
            raise GraphQueryError(f"{name!r} names several sources: {', '.join(matches)}; give the whole source id")
        return matches[0] if matches else name

    def existing_keys(self, label: str, keys: Sequence[str]) -> set[str]:
        key = node_type(label).key
        rows = self.read(f"MATCH (n:{label}) WHERE n.{key} IN $keys RETURN n.{key} AS k", {"keys": list(keys)})
        return {r["k"] for r in rows}

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


NodeKey = tuple[str, str]  # (label, key)
RelKey = tuple[str, str, str, str, str]  # (type, start label, start key, end label, end key)
_KEY_PROPS = sorted({spec.key for spec in NODE_TYPES.values()})


def _node_key(labels: Sequence[str], row: Mapping[str, Any], prefix: str) -> NodeKey:
    label = primary_label(labels)
    key_prop = NODE_TYPES[label].key if label in NODE_TYPES else "id"
    return label, str(row.get(f"{prefix}{key_prop}"))


def _key_columns(var: str) -> str:
    return ", ".join(f"{var}.{prop} AS {var}_{prop}" for prop in _KEY_PROPS)


def asserted_by(tx: GraphWriter, source: str) -> tuple[dict[NodeKey, list[str]], dict[RelKey, list[str]]]:
    """Everything ``source`` asserts in the graph now, each with its sources."""
    only = {"source": source}
    nodes = {
        _node_key(row["labels"], row, "n_"): list(row["s"])
        for row in tx.read(
            f"MATCH (n) WHERE $source IN n.{SOURCES} RETURN labels(n) AS labels, n.{SOURCES} AS s, {_key_columns('n')}",
            only,
        )
    }
    rels: dict[RelKey, list[str]] = {}
    for row in tx.read(
        f"MATCH (a)-[r]->(b) WHERE $source IN r.{SOURCES} RETURN type(r) AS t, r.{SOURCES} AS s, "
        f"labels(a) AS al, labels(b) AS bl, {_key_columns('a')}, {_key_columns('b')}",
        only,
    ):
        rels[(row["t"], *_node_key(row["al"], row, "a_"), *_node_key(row["bl"], row, "b_"))] = list(row["s"])
    return nodes, rels


def retract(
    tx: GraphWriter, source: str, keep_nodes: Collection[NodeKey] = (), keep_rels: Collection[RelKey] = ()
) -> dict[str, int]:
    """Inside a source transaction, after its MERGEs: ``source`` stops asserting every node and
    relationship it asserted that is not kept. One nobody else asserts is deleted; the others
    only lose ``source``. A node is deleted (with its relationships) only when its last source
    is gone, so a node the source asserts again is never detached. Returns what was deleted."""
    nodes, rels = asserted_by(tx, source)
    keep_n, keep_r = set(keep_nodes), set(keep_rels)
    stale_rels: dict[tuple[str, str, str], list[dict[str, str]]] = defaultdict(list)
    deleted = {"relationships": 0, "nodes": 0}
    for (rel, start_label, start, end_label, end), sources in rels.items():
        if (rel, start_label, start, end_label, end) not in keep_r:
            stale_rels[(rel, start_label, end_label)].append({"start": start, "end": end})
            deleted["relationships"] += sources == [source]
    for (rel, start_label, end_label), rows in stale_rels.items():
        start_key, end_key = node_type(start_label).key, node_type(end_label).key
        for chunk in batches(rows, 2000):
            tx.run(
                f"UNWIND $rows AS row MATCH (a:{start_label} {{{start_key}: row.start}})-[r:{rel}]->"
                f"(b:{end_label} {{{end_key}: row.end}}) WHERE $source IN r.{SOURCES} "
                f"SET r.{SOURCES} = [s IN r.{SOURCES} WHERE s <> $source]",
                {"rows": chunk, "source": source},
            )
            # Its own statement: FalkorDB silently drops a SET followed by WITH ... DELETE.
            tx.run(
                f"UNWIND $rows AS row MATCH (a:{start_label} {{{start_key}: row.start}})-[r:{rel}]->"
                f"(b:{end_label} {{{end_key}: row.end}}) WHERE size(r.{SOURCES}) = 0 DELETE r",
                {"rows": chunk},
            )
    stale_nodes: dict[str, list[dict[str, str]]] = defaultdict(list)
    for (label, key), sources in nodes.items():
        if (label, key) not in keep_n:
            stale_nodes[label].append({"key": key})
            deleted["nodes"] += sources == [source]
    for label, rows in stale_nodes.items():
        key_prop = node_type(label).key
        for chunk in batches(rows, 2000):
            tx.run(
                f"UNWIND $rows AS row MATCH (n:{label} {{{key_prop}: row.key}}) WHERE $source IN n.{SOURCES} "
                f"SET n.{SOURCES} = [s IN n.{SOURCES} WHERE s <> $source]",
                {"rows": chunk, "source": source},
            )
            tx.run(
                f"UNWIND $rows AS row MATCH (n:{label} {{{key_prop}: row.key}}) WHERE size(n.{SOURCES}) = 0 "
                "DETACH DELETE n",
                {"rows": chunk},
            )
    return deleted


def remove_source(tx: GraphWriter, source: str) -> dict[str, int]:
    """Inside a source transaction: drop what only ``source`` asserted, un-cite it elsewhere."""
    return retract(tx, source)


def rename_source(tx: GraphWriter, old: str, new: str) -> None:
    """Inside a source transaction: what ``old`` asserted is now asserted by ``new``."""
    names = {"old": old, "new": new}
    for var, pattern in (("r", "()-[r]->()"), ("n", "(n)")):
        tx.run(
            f"MATCH {pattern} WHERE $old IN {var}.{SOURCES} "
            f"SET {var}.{SOURCES} = [s IN {var}.{SOURCES} WHERE s <> $old AND s <> $new] + $new",
            names,
        )
