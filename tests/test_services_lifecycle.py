"""`maintgraph up | status | down` from nothing, as a user runs them, with the real services."""

from __future__ import annotations

import json
import shutil

import psutil
import psycopg
import pytest

from maintgraph.config import Settings
from maintgraph.migrations import current, head
from maintgraph.services import Services

from .conftest import run_cli, short_tmp_dir


@pytest.fixture
def data_dir():
    path = short_tmp_dir()
    yield path
    run_cli("down", env={"MAINTGRAPH_DATA_DIR": str(path)})  # never leave a server behind
    shutil.rmtree(path, ignore_errors=True)


def _rows(result) -> dict[str, dict]:
    return {row["name"]: row for row in json.loads(result.stdout)}


def test_up_status_down_from_nothing(data_dir):
    env = {"MAINTGRAPH_DATA_DIR": str(data_dir / "fresh")}

    stopped = run_cli("status", "--json", env=env)
    assert stopped.returncode == 3, stopped.stderr
    assert {row["state"] for row in _rows(stopped).values()} == {"stopped"}

    started = run_cli("up", "--json", "--no-llm", env=env)
    assert started.returncode == 0, started.stderr
    rows = _rows(started)
    assert rows["postgres"]["state"] == "running" and rows["postgres"]["mode"] == "embedded"
    assert rows["postgres"]["version"].startswith("PostgreSQL 18")
    assert rows["postgres"]["detail"].startswith("pgvector 0.")
    assert rows["graph"]["state"] == "running" and rows["graph"]["version"].startswith("FalkorDB 4.")
    assert rows["postgres"]["where"].endswith(".s.PGSQL.5432")
    assert rows["graph"]["where"].endswith("falkordb.sock")

    settings = Settings(data_dir=data_dir / "fresh")
    services = Services(settings)
    pids = [services.postgres.pid(), services.falkordb.pid()]
    assert all(pids)
    # Nothing listens on TCP: both servers are reachable only through their sockets.
    for pid in pids:
        assert not [c for c in psutil.Process(pid).net_connections(kind="inet") if c.status == "LISTEN"]
    assert current(services.pg_conninfo()) == head()

    again = run_cli("up", "--json", "--no-llm", env=env)  # idempotent: same servers, nothing restarted
    assert again.returncode == 0, again.stderr
    assert [services.postgres.pid(), services.falkordb.pid()] == pids

    status = run_cli("status", "--json", env=env)
    assert status.returncode == 3  # the model server was left out (--no-llm): not every service runs
    assert {name: row["state"] for name, row in _rows(status).items()} == {
        "postgres": "running", "graph": "running", "llm": "stopped",
    }  # fmt: skip

    down = run_cli("down", "--json", env=env)
    assert down.returncode == 0, down.stderr
    assert {row["state"] for row in _rows(down).values()} == {"stopped"}
    for pid in pids:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert run_cli("status", env=env).returncode == 3


def test_data_survives_a_restart(data_dir):
    settings = Settings(data_dir=data_dir)
    services = Services(settings)
    services.up(llm=False)
    try:
        with psycopg.connect(services.pg_conninfo(), autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (tag text)")
            conn.execute("INSERT INTO kept VALUES ('P-101')")
        services.falkordb.client().select_graph("plant").query("CREATE (:Equipment {tag: 'P-101'})")
        services.down()
        services.up(llm=False)
        with psycopg.connect(services.pg_conninfo()) as conn:
            assert conn.execute("SELECT tag FROM kept").fetchall() == [("P-101",)]
        result = services.falkordb.client().select_graph("plant").query("MATCH (e:Equipment) RETURN e.tag")
        assert result.result_set == [["P-101"]]
    finally:
        services.down()


def test_a_graph_load_survives_a_crash_of_the_graph_server(data_dir):
    """Graph loads go through GRAPH.COPY (a fork); the embedded server keeps no snapshot forks of
    its own that could collide with it, and an append-only file keeps what was loaded."""
    import time

    from maintgraph.graph.falkordb import shadow_copy

    services = Services(Settings(data_dir=data_dir))
    services.up(llm=False)
    try:
        db = services.falkordb.client()
        db.select_graph("plant").query("CREATE (:Equipment {tag: 'P-101'})")
        with shadow_copy(db, "plant") as copy:
            copy.query("CREATE (:Equipment {tag: 'P-102'})")
        assert db.connection.config_get("save")["save"] == ""  # no background snapshots to collide with
        time.sleep(1.5)  # appendfsync everysec
        server = psutil.Process(services.falkordb.pid())
        server.kill()  # a crash: no shutdown, no save
        server.wait(10)
        services.up(llm=False)
        result = (
            services.falkordb.client().select_graph("plant").query("MATCH (e:Equipment) RETURN e.tag ORDER BY e.tag")
        )
        assert result.result_set == [["P-101"], ["P-102"]]
    finally:
        services.down()


def test_session_fixtures_give_isolated_databases_and_graphs(pg_conninfo, falkordb_graph, running_services):
    with psycopg.connect(pg_conninfo) as conn:
        assert conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
        conn.execute("CREATE TABLE scratch (id int)")
        conn.commit()
    with psycopg.connect(running_services.conninfo("mg_template")) as conn:
        assert conn.execute("SELECT to_regclass('scratch')").fetchone() == (None,)
    falkordb_graph.query("CREATE (:Equipment {tag: 'P-101'})")
    assert falkordb_graph.query("MATCH (n) RETURN count(n)").result_set == [[1]]


def test_hnsw_search_default_is_set_by_the_migration(running_services):
    with psycopg.connect(running_services.conninfo(running_services.settings.pg_database)) as conn:
        assert conn.execute("SHOW hnsw.ef_search").fetchone() == ("100",)
