"""maintgraph.connections: the one connection lookup every layer uses (it starts nothing)."""

from __future__ import annotations

import os
import stat
import tempfile

import pytest

from maintgraph.config import Settings
from maintgraph.connections import DataDir, embedded_pg_conninfo, falkordb_kwargs, neo4j_driver_kwargs, pg_conninfo
from maintgraph.errors import DataDirError, ServiceUnavailable
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


def test_a_planted_socket_directory_is_refused(tmp_path, monkeypatch):
    """The sockets' fallback directory has a predictable name in the shared temp dir: one that is a
    symlink, belongs to another user or that others can write to is never used (it could serve a
    fake FalkorDB or Postgres); a new one is created 0700."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    deep = tmp_path / ("d" * 90)
    settings = Settings(data_dir=deep)
    dirs = DataDir(deep)
    assert dirs.run.parent == tmp_path

    def refused(why: str) -> None:
        for use in (dirs.ensure_writable, lambda: falkordb_kwargs(settings), lambda: pg_conninfo(settings)):
            with pytest.raises(DataDirError, match=rf"MAINTGRAPH_DATA_DIR: the socket directory {dirs.run} {why}"):
                use()

    elsewhere = tmp_path / "theirs"
    elsewhere.mkdir(mode=0o700)
    dirs.run.symlink_to(elsewhere)
    refused("is a symbolic link")
    dirs.run.unlink()

    dirs.run.mkdir()
    dirs.run.chmod(0o777)
    refused(r"is writable by other users \(mode 0777\)")
    dirs.run.rmdir()

    if os.geteuid() == 0:
        dirs.run.mkdir(mode=0o700)
        os.chown(dirs.run, 65534, 65534)
        refused("belongs to uid 65534")
        dirs.run.rmdir()

    dirs.ensure_writable()
    made = os.lstat(dirs.run)
    assert stat.S_ISDIR(made.st_mode) and made.st_uid == os.geteuid() and stat.S_IMODE(made.st_mode) == 0o700
    assert pg_conninfo(settings).startswith(f"host={dirs.pg_sockets} ")
