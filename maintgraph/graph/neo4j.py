"""GraphStore on Neo4j (production), through the official ``neo4j`` driver.

Reads use ``execute_query`` with read routing; a source's writes run in one managed write
transaction, so a failing source leaves nothing behind. ``database`` selects the Neo4j
database (default: the server's home database).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import neo4j
from neo4j import exceptions as neo4j_errors
from neo4j.graph import Node, Path, Relationship

from maintgraph.errors import GraphQueryError
from maintgraph.graph.base import (
    GraphNode,
    GraphPath,
    GraphRelationship,
    GraphStore,
    GraphWriter,
    Row,
    to_node,
)
from maintgraph.graph.schema import NODE_TYPES


def _node(value: Node) -> GraphNode:
    return to_node(sorted(value.labels), dict(value))


def _convert(value: Any) -> Any:
    if isinstance(value, Node):
        return _node(value)
    if isinstance(value, Relationship):
        start = _node(value.start_node).ref if value.start_node is not None and value.start_node.labels else "?"
        end = _node(value.end_node).ref if value.end_node is not None and value.end_node.labels else "?"
        return GraphRelationship(value.type, start, end, dict(value))
    if isinstance(value, Path):
        return GraphPath(tuple(_node(n) for n in value.nodes), tuple(_convert(r) for r in value.relationships))
    if isinstance(value, list):
        return [_convert(v) for v in value]
    if isinstance(value, dict):
        return {k: _convert(v) for k, v in value.items()}
    return value


def convert_record(record: neo4j.Record) -> Row:
    return {key: _convert(value) for key, value in record.items()}


def schema_statements() -> list[str]:
    """Neo4j DDL: one uniqueness constraint (which also indexes) per node type's natural key."""
    return [
        f"CREATE CONSTRAINT mg_{spec.label.lower()}_{spec.key} IF NOT EXISTS "
        f"FOR (n:{spec.label}) REQUIRE n.{spec.key} IS UNIQUE"
        for spec in NODE_TYPES.values()
    ]


def _query_error(exc: neo4j_errors.Neo4jError) -> GraphQueryError:
    return GraphQueryError(f"Neo4j refused the query ({exc.code}): {exc.message}")


class _Neo4jWriter(GraphWriter):
    def __init__(self, tx: neo4j.Transaction) -> None:
        self.tx = tx

    def run(self, query: str, params: Mapping[str, Any] | None = None) -> None:
        self.tx.run(query, dict(params or {})).consume()

    def read(self, query: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        return [convert_record(r) for r in self.tx.run(query, dict(params or {}))]


class Neo4jStore(GraphStore):
    engine = "neo4j"

    def __init__(self, driver: neo4j.Driver, database: str | None = None) -> None:
        self.driver = driver
        self.database = database

    def ensure_schema(self) -> None:
        for statement in schema_statements():
            self.driver.execute_query(statement, database_=self.database)

    def read(self, query: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        try:
            records, _, _ = self.driver.execute_query(
                query, dict(params or {}), database_=self.database, routing_=neo4j.RoutingControl.READ
            )
        except neo4j_errors.Neo4jError as exc:
            raise _query_error(exc) from exc
        return [convert_record(r) for r in records]

    @contextmanager
    def source_transaction(self, source: str) -> Iterator[GraphWriter]:
        with self.driver.session(database=self.database) as session, session.begin_transaction() as tx:
            try:
                yield _Neo4jWriter(tx)
            except neo4j_errors.Neo4jError as exc:
                tx.rollback()
                raise _query_error(exc) from exc
            except BaseException:
                tx.rollback()
                raise
            tx.commit()

    def clear(self) -> None:
        self.driver.execute_query("MATCH (n) DETACH DELETE n", database_=self.database)

    def close(self) -> None:
        self.driver.close()
