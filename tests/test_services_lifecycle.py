"""`maintgraph up | status | down` from nothing, as a user runs them, with the real services."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
import subprocess

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
    # Like a home directory: others may traverse it, not list it. The embedded Postgres's system
    # user (as root) must reach a data dir below it; `up` never opens a parent for it.
    path.chmod(0o711)
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


def _modes(paths) -> dict[str, int]:
    return {str(p): stat.S_IMODE(p.stat().st_mode) for p in paths}


def test_the_data_dir_is_private_and_no_parent_is_opened(data_dir):
    """FalkorDB's files hold the whole graph: after `up` nothing under the data dir is open to other
    users, and no directory above it had its mode changed (the Postgres user only traverses them)."""
    home = data_dir / "home"
    home.mkdir(mode=0o711)
    root = home / "plant" / "maintgraph"
    parents = [home, *home.parents]
    before = _modes(parents)
    env = {"MAINTGRAPH_DATA_DIR": str(root)}
    try:
        started = run_cli("up", "--json", "--no-llm", env=env)
        assert started.returncode == 0, started.stderr
        services = Services(Settings(data_dir=root))
        services.falkordb.client().select_graph("plant").query("CREATE (:Equipment {tag: 'P-101'})")
        assert _modes(parents) == before
        assert stat.S_IMODE(root.stat().st_mode) & 0o067 == 0  # 0700, or 0710 for the Postgres user's group
        if os.geteuid() == 0:
            assert root.stat().st_gid == pwd.getpwnam("embedded_postgres").pw_gid
        graph_files = list(services.dirs.falkordb.rglob("*"))
        assert [p for p in graph_files if p.is_file()]  # the append-only file and pid files are there
        everything = [root, *root.rglob("*"), *services.dirs.run.rglob("*")]
        assert {p: oct(m) for p, m in _modes(everything).items() if m & 0o007} == {}
    finally:
        run_cli("down", env=env)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs Postgres under its own system user")
def test_a_parent_the_postgres_user_cannot_traverse_is_named_not_opened(data_dir):
    closed = data_dir / "closed"
    closed.mkdir(mode=0o700)
    env = {"MAINTGRAPH_DATA_DIR": str(closed / "data")}
    try:
        result = run_cli("up", "--no-llm", env=env)
        if shutil.which("setfacl"):  # granted through an ACL: the mode stays
            assert result.returncode == 0, result.stderr
        else:
            assert result.returncode == 1
            assert f"cannot traverse {closed}: allow it" in result.stderr
        assert stat.S_IMODE(closed.stat().st_mode) == 0o700
    finally:
        run_cli("down", env=env)


def test_down_never_signals_a_process_a_stale_pid_file_names(data_dir):
    """After a reboot the recorded pids may belong to anything: a live process of another program
    (even started in the same second) is left alone by `down` and reported as stale."""
    services = Services(Settings(data_dir=data_dir))
    services.dirs.ensure_writable()
    env = {"MAINTGRAPH_DATA_DIR": str(data_dir)}
    stranger = subprocess.Popen(["sleep", "300"])
    try:
        started = psutil.Process(stranger.pid).create_time()
        pg = services.postgres
        postmaster_pid = pg.pgdata / "postmaster.pid"  # Postgres's own: pid, data dir, start time, ...
        postmaster_pid.write_text(f"{stranger.pid}\n{pg.pgdata}\n{int(started)}\n5432\n{services.dirs.pg_sockets}\n")
        services.falkordb.pid_file.write_text(f"{stranger.pid}\n")  # redis's own: a bare pid
        services.falkordb.own_pid_file.write_text(f"{stranger.pid} {started}")

        down = run_cli("down", "--json", env=env)
        assert down.returncode == 0, down.stderr
        assert stranger.poll() is None  # not signalled
        rows = _rows(down)
        for name, pid_file in (("postgres", postmaster_pid), ("graph", services.falkordb.own_pid_file)):
            assert rows[name]["state"] == "stopped"
            assert rows[name]["detail"].startswith(f"stale pid file {pid_file} ignored: pid {stranger.pid} is another")

        # and `up` starts over them (Postgres would take its pid file for a running server)
        assert run_cli("up", "--no-llm", env=env).returncode == 0
        assert stranger.poll() is None and pg.running() and services.falkordb.running()
    finally:
        run_cli("down", env=env)
        stranger.kill()
        stranger.wait()
