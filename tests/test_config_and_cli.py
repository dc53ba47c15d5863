"""Settings sources, secret handling, logging format, and the CLI's help and version."""

from __future__ import annotations

import io
import json
import logging

import pytest
from typer.main import get_command

import maintgraph
from maintgraph.apps.cli import app
from maintgraph.config import load_settings
from maintgraph.errors import ConfigError
from maintgraph.logs import setup_logging

from .conftest import run_cli


def test_defaults_are_embedded(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.pg_embedded and settings.graph_embedded and settings.llm_embedded
    assert settings.data_dir == tmp_path / ".maintgraph"


def test_env_beats_toml_and_switches_to_external(monkeypatch, tmp_path):
    (tmp_path / "maintgraph.toml").write_text(
        'graph_uri = "neo4j+s://abc.databases.neo4j.io"\nlog_level = "debug"\npg_database = "from_toml"\n'
    )
    monkeypatch.setenv("MAINTGRAPH_CONFIG_FILE", str(tmp_path / "maintgraph.toml"))
    monkeypatch.setenv("MAINTGRAPH_PG_DATABASE", "from_env")
    settings = load_settings()
    assert settings.pg_database == "from_env"
    assert settings.log_level == "DEBUG"
    assert settings.graph_engine == "neo4j" and not settings.graph_embedded
    assert settings.pg_embedded


def test_only_the_named_settings_file_is_read_never_one_in_the_working_directory(monkeypatch, tmp_path, caplog):
    """A maintgraph.toml in whatever directory `up` runs from (a checkout someone else wrote) could
    name the vllm_python it executes: it is ignored; the file MAINTGRAPH_CONFIG_FILE names is read,
    and named in the log and by `maintgraph config`."""
    planted = tmp_path / "checkout"
    planted.mkdir()
    (planted / "maintgraph.toml").write_text('vllm_python = "/tmp/not-yours/python"\n')
    monkeypatch.chdir(planted)
    assert str(load_settings().vllm_python) != "/tmp/not-yours/python"
    shown = run_cli("config", "--json", cwd=planted)
    assert shown.returncode == 0, shown.stderr
    view = json.loads(shown.stdout)
    assert view["vllm_python"] != "/tmp/not-yours/python" and view["config_file"] is None
    assert "ignoring" in shown.stderr and "MAINTGRAPH_CONFIG_FILE" in shown.stderr
    assert "settings file: none" in run_cli("config", cwd=planted).stdout

    chosen = tmp_path / "etc" / "maintgraph.toml"
    chosen.parent.mkdir()
    chosen.write_text('vllm_python = "/opt/vllm/bin/python"\n')
    monkeypatch.setenv("MAINTGRAPH_CONFIG_FILE", str(chosen))
    with caplog.at_level("INFO", logger="maintgraph.config"):
        assert str(load_settings().vllm_python) == "/opt/vllm/bin/python"
    assert f"settings file: {chosen}" in caplog.text
    env = {"MAINTGRAPH_CONFIG_FILE": str(chosen)}
    view = json.loads(run_cli("config", "--json", env=env, cwd=planted).stdout)
    assert view["config_file"] == str(chosen) and view["vllm_python"] == "/opt/vllm/bin/python"
    assert f"settings file: {chosen}" in run_cli("config", env=env, cwd=planted).stdout


def test_falkordb_uri_selects_falkordb(monkeypatch):
    monkeypatch.setenv("MAINTGRAPH_GRAPH_URI", "falkor://graph.plant.local:6379")
    assert load_settings().graph_engine == "falkordb"


def test_config_error_names_the_setting(monkeypatch):
    monkeypatch.setenv("MAINTGRAPH_PG_DSN", "host=db dbname")
    with pytest.raises(ConfigError, match=r"^MAINTGRAPH_PG_DSN: not a valid PostgreSQL DSN"):
        load_settings()


def test_answers_longer_than_half_the_model_s_context_are_refused(monkeypatch):
    monkeypatch.setenv("MAINTGRAPH_LLM_ANSWER_TOKENS", "1500")
    with pytest.raises(ConfigError, match=r"MAINTGRAPH_LLM_ANSWER_TOKENS \(1500\) must be at most half of "
                                          r"MAINTGRAPH_LLM_MAX_MODEL_LEN \(2048\)"):  # fmt: skip
        load_settings()
    monkeypatch.setenv("MAINTGRAPH_LLM_MAX_MODEL_LEN", "4096")
    assert load_settings().llm_answer_tokens == 1500


def test_secrets_are_redacted_everywhere(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MAINTGRAPH_PG_DSN", "postgresql://maint:hunter2@db.plant:5432/mg")
    monkeypatch.setenv("MAINTGRAPH_GRAPH_PASSWORD", "neo-secret")
    monkeypatch.setenv("MAINTGRAPH_LLM_API_KEY", "sk-live-123")
    settings = load_settings()
    for text in (repr(settings), str(settings), json.dumps(settings.public_view())):
        assert "hunter2" not in text and "neo-secret" not in text and "sk-live-123" not in text
    assert settings.public_view()["pg_dsn"] == "postgresql://maint:***@db.plant:5432/mg"

    shown = run_cli("config", "--json", env={
        "MAINTGRAPH_PG_DSN": "postgresql://maint:hunter2@db.plant:5432/mg", "MAINTGRAPH_LLM_API_KEY": "sk-live-123"
    })  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert "hunter2" not in shown.stdout and "sk-live-123" not in shown.stdout
    assert json.loads(shown.stdout)["llm_api_key"] == "***"


def test_logs_are_json_lines_off_a_terminal_and_redact_credentials():
    stream = io.StringIO()
    setup_logging("INFO", "auto", stream=stream)
    logging.getLogger("maintgraph.test").info(
        "connecting to %s", "postgresql://maint:hunter2@db/plant", extra={"service": "postgres"}
    )
    logging.getLogger("maintgraph.test").warning("retry with password=hunter2 now")
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert records[0]["level"] == "INFO" and records[0]["logger"] == "maintgraph.test"
    assert records[0]["message"] == "connecting to postgresql://maint:***@db/plant"
    assert records[0]["service"] == "postgres"
    assert records[1]["message"] == "retry with password=*** now"
    assert "hunter2" not in stream.getvalue()


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"maintgraph {maintgraph.__version__}" != "maintgraph 0.0.0+unknown"


def _command_paths(command, prefix=()):
    yield prefix
    for name, sub in getattr(command, "commands", {}).items():
        yield from _command_paths(sub, (*prefix, name))


@pytest.mark.parametrize("path", list(_command_paths(get_command(app))), ids=lambda p: " ".join(p) or "maintgraph")
def test_every_command_has_help(path):
    result = run_cli(*path, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage: maintgraph" in result.stdout
    # A help text, not just the usage line.
    assert len([line for line in result.stdout.splitlines() if line.strip()]) > 3
