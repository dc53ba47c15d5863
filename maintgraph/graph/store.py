"""The one place that builds the GraphStore for the configured engine."""

from __future__ import annotations

from maintgraph.config import Settings
from maintgraph.connections import falkordb_kwargs, neo4j_driver_kwargs
from maintgraph.graph.base import GraphStore


def open_graph_store(settings: Settings) -> GraphStore:
    """FalkorDB (embedded socket or ``falkor://``) or Neo4j (``neo4j://``, ``bolt://``)."""
    if settings.graph_engine == "neo4j":
        import neo4j

        from maintgraph.graph.neo4j import Neo4jStore

        return Neo4jStore(neo4j.GraphDatabase.driver(**neo4j_driver_kwargs(settings)), settings.graph_database)
    from falkordb import FalkorDB

    from maintgraph.graph.falkordb import FalkorDBStore

    return FalkorDBStore(FalkorDB(**falkordb_kwargs(settings)), settings.graph_name)
