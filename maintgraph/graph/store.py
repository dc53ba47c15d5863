"""The one place that builds the GraphStore for the configured engine."""

from __future__ import annotations

from maintgraph.config import Settings
from maintgraph.errors import ServiceUnavailable
from maintgraph.graph.base import GraphStore
from maintgraph.services import DataDir


def open_graph_store(settings: Settings) -> GraphStore:
    """FalkorDB (embedded socket or ``falkor://``) or Neo4j (``neo4j://``, ``bolt://``)."""
    if settings.graph_uri is None:
        from falkordb import FalkorDB

        from maintgraph.graph.falkordb import FalkorDBStore

        socket = DataDir(settings.data_dir).falkordb_socket
        if not socket.exists():
            raise ServiceUnavailable(f"the embedded FalkorDB is not running ({socket}); run `maintgraph up`")
        return FalkorDBStore(FalkorDB(unix_socket_path=str(socket)), settings.graph_name)
    uri = settings.graph_uri.get_secret_value()
    if settings.graph_engine == "neo4j":
        import neo4j

        from maintgraph.graph.neo4j import Neo4jStore

        driver = neo4j.GraphDatabase.driver(
            uri, auth=settings.neo4j_auth(), connection_timeout=settings.connect_timeout_s
        )
        return Neo4jStore(driver, settings.graph_database)
    from falkordb import FalkorDB

    from maintgraph.graph.falkordb import FalkorDBStore

    return FalkorDBStore(FalkorDB(**settings.falkordb_connection()), settings.graph_name)
