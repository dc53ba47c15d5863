"""GraphStore on FalkorDB (the embedded default), through the ``falkordb`` client.

FalkorDB has no multi-statement transactions, so a source's writes go to a copy of the graph
(``GRAPH.COPY``) that replaces the live graph with one atomic ``RENAME`` when the source has
loaded completely; on any error the copy is dropped and the live graph never changed.
Readers keep reading the live graph meanwhile. One writer at a time (a Redis lock).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from falkordb import Edge, FalkorDB, Node, Path
from redis.exceptions import ResponseError

from maintgraph.errors import GraphQueryError
from maintgraph.graph.base import GraphNode, GraphPath, GraphRelationship, GraphStore, GraphWriter, Row, to_node
from maintgraph.graph.schema import NODE_TYPES

log = logging.getLogger(__name__)


def _convert(value: Any, nodes_by_id: dict[int, GraphNode]) -> Any:
    if isinstance(value, Node):
        node = to_node(list(value.labels or []), value.properties)
        nodes_by_id[value.id] = node
        return node
    if isinstance(value, Edge):
        start, end = nodes_by_id.get(_edge_end(value.src_node)), nodes_by_id.get(_edge_end(value.dest_node))
        return GraphRelationship(value.relation, start.ref if start else "?", end.ref if end else "?", value.properties)
    if isinstance(value, Path):
        path_nodes = tuple(_convert(n, nodes_by_id) for n in value.nodes())
        rels = tuple(_convert(e, nodes_by_id) for e in value.edges())
        return GraphPath(path_nodes, rels)
    if isinstance(value, list):
        return [_convert(v, nodes_by_id) for v in value]
    if isinstance(value, dict):
        return {k: _convert(v, nodes_by_id) for k, v in value.items()}
    return value


def _edge_end(end: Any) -> int:
    return end.id if isinstance(end, Node) else end


def convert_result(result: Any) -> list[Row]:
    """falkordb QueryResult -> rows of plain values and GraphNode/GraphRelationship/GraphPath."""
    names = [column[1] for column in result.header]
    rows: list[Row] = []
    for record in result.result_set:
        nodes_by_id: dict[int, GraphNode] = {}
        # Nodes first, so that relationships in the same row can name their ends.
        for value in record:
            if isinstance(value, Node):
                _convert(value, nodes_by_id)
        rows.append({name: _convert(value, nodes_by_id) for name, value in zip(names, record, strict=True)})
    return rows


class _FalkorWriter(GraphWriter):
    def __init__(self, graph: Any) -> None:
        self.graph = graph

    def run(self, query: str, params: Mapping[str, Any] | None = None) -> None:
        _query(self.graph, query, params)

    def read(self, query: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        return convert_result(_query(self.graph, query, params))


def _query(graph: Any, query: str, params: Mapping[str, Any] | None, read_only: bool = False) -> Any:
    try:
        if read_only:
            return graph.ro_query(query, dict(params or {}))
        return graph.query(query, dict(params or {}))
    except ResponseError as exc:
        raise GraphQueryError(f"FalkorDB refused the query: {str(exc).strip()}") from None


def _ignore_existing(ddl: Any, *args: Any) -> None:
    try:
        ddl(*args)
    except ResponseError as exc:
        if "already" not in str(exc):
            raise GraphQueryError(f"FalkorDB refused the schema change: {exc}") from None


def create_unique(db: FalkorDB, graph_name: str, label: str, prop: str) -> None:
    """Index ``label.prop`` and make it unique (idempotent); FalkorDB builds the constraint in the background."""
    _ignore_existing(db.select_graph(graph_name).query, f"CREATE INDEX FOR (n:{label}) ON (n.{prop})")
    _ignore_existing(db.connection.execute_command, "GRAPH.CONSTRAINT", "CREATE", graph_name, "UNIQUE", "NODE",
                     label, "PROPERTIES", 1, prop)  # fmt: skip


COPY_LOCK = "maintgraph__graph_copy"


@contextmanager
def shadow_copy(db: FalkorDB, graph_name: str, lock_timeout_s: float = 600) -> Iterator[Any]:
    """Yield a copy of ``graph_name`` to write to; it replaces the live graph on success."""
    connection = db.connection
    copy_name = f"{graph_name}__tx_{uuid.uuid4().hex[:8]}"
    with connection.lock(f"{graph_name}__writer", timeout=lock_timeout_s, blocking_timeout=lock_timeout_s):
        if connection.exists(graph_name):
            # GRAPH.COPY forks; a second copy forking while the first's child is alive fails with
            # "Can't fork for module: File exists" and leaves the server hung (seen here with two
            # graphs loaded at once). One copy at a time per server, whatever the graph.
            with connection.lock(COPY_LOCK, timeout=lock_timeout_s, blocking_timeout=lock_timeout_s):
                connection.execute_command("GRAPH.COPY", graph_name, copy_name)
        copy = db.select_graph(copy_name)
        try:
            yield copy
        except BaseException:
            connection.delete(copy_name)
            raise
        if connection.exists(copy_name):
            connection.rename(copy_name, graph_name)  # atomic: readers see all of it or none


class FalkorDBStore(GraphStore):
    engine = "falkordb"

    def __init__(self, db: FalkorDB, graph_name: str) -> None:
        self.db = db
        self.graph_name = graph_name

    @property
    def graph(self) -> Any:
        return self.db.select_graph(self.graph_name)

    def ensure_schema(self) -> None:
        for spec in NODE_TYPES.values():
            create_unique(self.db, self.graph_name, spec.label, spec.key)

    def read(self, query: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        return convert_result(_query(self.graph, query, params, read_only=True))

    @contextmanager
    def source_transaction(self, source: str) -> Iterator[GraphWriter]:
        with shadow_copy(self.db, self.graph_name) as graph:
            yield _FalkorWriter(graph)
        log.debug("source %s committed to graph %s", source, self.graph_name)

    def clear(self) -> None:
        self.db.connection.delete(self.graph_name)

    def close(self) -> None:
        self.db.connection.close()
