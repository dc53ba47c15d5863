"""maintgraph.connections: the one connection lookup every layer uses (it starts nothing)."""

from __future__ import annotations

import pytest

from maintgraph.config import Settings
from maintgraph.connections import DataDir, embedded_pg_conninfo, falkordb_kwargs, neo4j_driver_kwargs, pg_conninfo
from maintgraph.errors import ServiceUnavailable
from maintgraph.services import Services


def test_postgres_is_the_dsn_when_one_is_set_else_the_embedded_socket(tmp_path):
    dsn = "postgresql://maint:secret@db.example:5433/plant"
    assert pg_conninfo(Settings(data_dir=tmp_path, pg_dsn=dsn)) == dsn
    embedded = Settings(data_dir=tmp_path, pg_port=5544, pg_database="plant")
    conninfo = pg_conninfo(embedded)
    assert f"host={DataDir(tmp_path).pg_sockets} port=5544" in conninfo and "dbname=plant" in conninfo
    assert "dbname=postgres" in embedded_pg_conninfo(embedded, "postgres")
    # the facade that starts the servers hands out the same
    assert Services(embedded).pg_conninfo() == conninfo == Services(embedded).postgres.conninfo()


def test_embedded_falkordb_is_its_socket_and_a_missing_one_names_maintgraph_up(tmp_path):
    settings = Settings(data_dir=tmp_path)
    socket = DataDir(tmp_path).falkordb_socket
    with pytest.raises(ServiceUnavailable, match=r"not running .*run `maintgraph up`"):
        falkordb_kwargs(settings)
    assert falkordb_kwargs(settings, require_running=False) == {"unix_socket_path": str(socket)}


def test_external_graph_stores_from_the_uri_and_credentials(tmp_path):
    falkor = Settings(data_dir=tmp_path, graph_uri="falkors://graph.example:6380", graph_user="u", graph_password="p")
    assert falkordb_kwargs(falkor) == {
        "host": "graph.example", "port": 6380, "username": "u", "password": "p", "ssl": True,
        "socket_connect_timeout": falkor.connect_timeout_s,
    }  # fmt: skip
    neo = Settings(data_dir=tmp_path, graph_uri="neo4j://graph.example:7687", graph_password="p")
    assert neo4j_driver_kwargs(neo) == {
        "uri": "neo4j://graph.example:7687", "auth": ("neo4j", "p"), "connection_timeout": neo.connect_timeout_s,
    }  # fmt: skip


def test_socket_paths_too_long_for_unix_sockets_move_to_the_temp_dir(tmp_path):
    deep = tmp_path / ("d" * 90)
    dirs = DataDir(deep)
    assert dirs.root == deep and not dirs.run.is_relative_to(deep)
    assert len(str(dirs.pg_sockets / ".s.PGSQL.65535")) <= 107
