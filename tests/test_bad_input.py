"""Every bad setting or busy resource gives one clear line naming it, exit != 0, nothing half-started."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time

import pytest

from maintgraph.config import Settings
from maintgraph.errors import MigrationError
from maintgraph.migrations import require_pgvector
from maintgraph.services import DataDir, Services

from .conftest import run_cli, short_tmp_dir


@pytest.fixture
def data_dir():
    path = short_tmp_dir()
    yield path
    run_cli("down", env={"MAINTGRAPH_DATA_DIR": str(path)})
    shutil.rmtree(path, ignore_errors=True)


def _nothing_running(path) -> bool:
    services = Services(Settings(data_dir=path))
    return not services.postgres.running() and not services.falkordb.running()


def _one_error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("setting", "value", "expected"),
    [
        ("MAINTGRAPH_PG_DSN", "mysql://root@db/plant", "scheme 'mysql' is not PostgreSQL"),
        ("MAINTGRAPH_PG_DSN", "postgresql://u@db:port/plant", "port 'port' is not a number"),
        ("MAINTGRAPH_PG_DSN", "host=db dbname", "not a valid PostgreSQL DSN"),
        ("MAINTGRAPH_PG_DSN", "dbname=plant", "no host given"),
        ("MAINTGRAPH_GRAPH_URI", "http://neo4j.plant:7474", "scheme 'http' is not one of"),
        ("MAINTGRAPH_GRAPH_URI", "neo4j://:7687", "no host"),
        ("MAINTGRAPH_GRAPH_URI", "bolt://neo4j:seven/", "is not a number"),
        ("MAINTGRAPH_LLM_BASE_URL", "127.0.0.1:8000", "is not an http(s) URL"),
        ("MAINTGRAPH_PG_PORT", "99999", "less than or equal to 65535"),
        ("MAINTGRAPH_LOG_FORMAT", "xml", "Input should be"),
    ],
)
def test_malformed_settings_are_named(setting, value, expected, data_dir):
    result = run_cli("up", env={"MAINTGRAPH_DATA_DIR": str(data_dir), setting: value})
    assert result.returncode == 2
    line = _one_error_line(result)
    assert setting in line and expected in line
    assert _nothing_running(data_dir)


def test_unknown_setting_in_toml_file_is_named(tmp_path):
    (tmp_path / "maintgraph.toml").write_text('data_dir = "/tmp/x"\npg_dns = "postgresql://h/db"\n')
    result = run_cli("config", env={"MAINTGRAPH_CONFIG_FILE": str(tmp_path / "maintgraph.toml")})
    assert result.returncode == 2
    assert "MAINTGRAPH_PG_DNS: unknown setting" in _one_error_line(result)


def test_missing_config_file_is_named(tmp_path):
    result = run_cli("config", env={"MAINTGRAPH_CONFIG_FILE": str(tmp_path / "nope.toml")})
    assert result.returncode == 2
    assert "MAINTGRAPH_CONFIG_FILE" in _one_error_line(result) and "does not exist" in result.stderr


def test_unreachable_external_postgres_is_named_without_its_password(data_dir):
    dsn = "postgresql://maint:s3cret-pw@127.0.0.1:1/plant"
    result = run_cli("up", env={"MAINTGRAPH_DATA_DIR": str(data_dir), "MAINTGRAPH_PG_DSN": dsn}, timeout=60)
    assert result.returncode != 0
    line = _one_error_line(result)
    assert "MAINTGRAPH_PG_DSN: cannot reach postgresql://maint:***@127.0.0.1:1/plant" in line
    assert "s3cret-pw" not in result.stderr + result.stdout
    assert _nothing_running(data_dir)


@pytest.mark.parametrize(
    ("setting", "value"),
    [("MAINTGRAPH_GRAPH_URI", "bolt://127.0.0.1:1"), ("MAINTGRAPH_LLM_BASE_URL", "http://127.0.0.1:1/v1")],
)
def test_unreachable_external_service_stops_what_up_started(setting, value, data_dir):
    result = run_cli("up", env={"MAINTGRAPH_DATA_DIR": str(data_dir), setting: value}, timeout=90)
    assert result.returncode != 0
    assert f"{setting}: cannot reach" in _one_error_line(result)
    # The embedded Postgres (and FalkorDB) this call started were stopped again.
    assert _nothing_running(data_dir)


def test_data_dir_that_is_not_writable(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = run_cli("up", env={"MAINTGRAPH_DATA_DIR": str(blocker / "data")})
    assert result.returncode != 0
    line = _one_error_line(result)
    assert "MAINTGRAPH_DATA_DIR" in line and "is not a writable directory" in line


def test_second_up_while_one_is_running_is_refused(data_dir):
    dirs = DataDir(data_dir)
    dirs.ensure_writable()
    hold_lock = (
        "import sys, time; from filelock import FileLock; "
        "lock = FileLock(sys.argv[1]); lock.acquire(); print('held', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", hold_lock, str(dirs.lock_file)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        result = run_cli("up", env={"MAINTGRAPH_DATA_DIR": str(data_dir)})
        assert result.returncode != 0
        line = _one_error_line(result)
        assert "another `maintgraph up` or `down` is running" in line and str(dirs.lock_file) in line
        assert _nothing_running(data_dir)
    finally:
        holder.kill()
        holder.wait()


def test_socket_already_in_use_is_named_and_nothing_is_left_started(data_dir):
    dirs = DataDir(data_dir)
    dirs.ensure_writable()
    squatter = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    squatter.bind(str(dirs.falkordb_socket))
    squatter.listen()
    try:
        started = time.monotonic()
        result = run_cli("up", env={"MAINTGRAPH_DATA_DIR": str(data_dir)})
        assert result.returncode != 0
        line = _one_error_line(result)
        assert f"socket {dirs.falkordb_socket} is already in use by another process" in line
        assert time.monotonic() - started < 60
        assert _nothing_running(data_dir)  # Postgres had started first and was stopped again
    finally:
        squatter.close()


def test_pgvector_version_requirement():
    require_pgvector("0.8.6")
    require_pgvector("0.7.0")
    with pytest.raises(MigrationError, match=re.escape("pgvector 0.6.2 is too old: maintgraph needs >= 0.7")):
        require_pgvector("0.6.2")
    with pytest.raises(MigrationError, match="no pgvector extension"):
        require_pgvector(None)
