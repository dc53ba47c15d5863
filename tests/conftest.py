"""Shared fixtures: one real embedded Postgres and one real FalkorDB per test session.

Each test that needs a database gets a fresh one cloned from a migrated template, and each
test that needs a graph gets a fresh graph key; both are removed afterwards. The services
are always stopped at the end of the session, failures included.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import psycopg
import pytest

from maintgraph.config import Settings
from maintgraph.llm.server import VLLMServer
from maintgraph.services import Services

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
TEMPLATE_DB = "mg_template"

# Settings a test passes explicitly must not be overridden by the developer's own.
for _name in [n for n in os.environ if n.startswith("MAINTGRAPH_")]:
    del os.environ[_name]
# The embedded vLLM requires an API key. The session's server is started with this one (and keeps
# it in its data dir, for the command line), so the tests that reach it from the plant's data dir
# send it too, as clients configured with MAINTGRAPH_LLM_API_KEY do.
os.environ["MAINTGRAPH_LLM_API_KEY"] = secrets.token_urlsafe(24)


def short_tmp_dir(prefix: str = "mg-") -> Path:
    """A short path under /tmp: Unix socket paths are limited to 107 bytes."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


@dataclass
class RunningServices:
    services: Services
    settings: Settings

    def conninfo(self, dbname: str) -> str:
        assert self.services.postgres is not None
        return self.services.postgres.conninfo(dbname)


@pytest.fixture(scope="session")
def running_services() -> Iterator[RunningServices]:
    data_dir = short_tmp_dir()
    settings = Settings(data_dir=data_dir)
    services = Services(settings)
    try:
        services.up(llm=False)
        with psycopg.connect(services.postgres.conninfo("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE {TEMPLATE_DB} TEMPLATE "{settings.pg_database}"')
        yield RunningServices(services, settings)
    finally:
        services.down()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def pg_conninfo(running_services: RunningServices) -> Iterator[str]:
    """A fresh, migrated database for one test; dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = running_services.conninfo("postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}")
    try:
        yield running_services.conninfo(name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def falkordb_graph(running_services: RunningServices):
    """A fresh FalkorDB graph (its own key) for one test; deleted afterwards."""
    client = running_services.services.falkordb.client()
    graph = client.select_graph(f"t_{uuid.uuid4().hex[:12]}")
    try:
        yield graph
    finally:
        try:
            graph.delete()
        except Exception:  # noqa: BLE001 - a graph never written to has no key to delete
            pass


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """Run the installed ``maintgraph`` console script as a user would (in a neutral directory)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MAINTGRAPH_")}
    full_env.update(env or {})
    exe = Path(sys.executable).with_name("maintgraph")
    workdir = cwd or tempfile.gettempdir()
    return subprocess.run([str(exe), *args], capture_output=True, text=True, env=full_env, timeout=timeout, cwd=workdir)


# -- graph stores: the same tests run on FalkorDB and, through the real neo4j driver, on Neo4j --
REAL_NEO4J_URI = os.environ.get("MAINTGRAPH_TEST_NEO4J_URI")


@pytest.fixture(scope="session")
def bolt_server(running_services: RunningServices):
    """The Bolt stand-in for Neo4j, forwarding to the session's FalkorDB (tests/bolt_falkordb.py)."""
    from .bolt_falkordb import BoltServer

    server = BoltServer(str(running_services.services.dirs.falkordb_socket), "neo4j").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["falkordb", "neo4j"])
def graph_store(request, running_services: RunningServices):
    """A fresh, schema-ready GraphStore for one test, on each engine."""
    from maintgraph.graph.falkordb import FalkorDBStore
    from maintgraph.graph.neo4j import Neo4jStore

    key = f"g_{uuid.uuid4().hex[:12]}"
    if request.param == "falkordb":
        store = FalkorDBStore(running_services.services.falkordb.client(), key)
    else:
        import neo4j

        if REAL_NEO4J_URI:
            auth = (
                os.environ.get("MAINTGRAPH_TEST_NEO4J_USER", "neo4j"),
                os.environ.get("MAINTGRAPH_TEST_NEO4J_PASSWORD", ""),
            )
            store = Neo4jStore(neo4j.GraphDatabase.driver(REAL_NEO4J_URI, auth=auth))
            store.clear()
        else:
            server = request.getfixturevalue("bolt_server")
            store = Neo4jStore(neo4j.GraphDatabase.driver(server.uri, auth=("neo4j", "test")), database=key)
    store.ensure_schema()
    try:
        yield store
    finally:
        store.clear()
        store.close()


# -- the model server: the real vLLM, started once per session by the tests that need it ------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def llm_settings() -> Settings:
    return Settings(data_dir=short_tmp_dir("mgl-"), llm_port=free_port(), vllm_python=REPO / ".venv-vllm/bin/python")


@pytest.fixture(scope="session")
def vllm(llm_settings):
    """The real vLLM server, once per test session, with the default base and shipped adapter."""
    server = VLLMServer(llm_settings)
    started = time.perf_counter()
    try:
        server.start()
        print(f"vLLM ready in {time.perf_counter() - started:.0f} s")
        yield server
    finally:
        server.stop()
        shutil.rmtree(llm_settings.data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def embedder():
    """The packaged embedding model, loaded once per session (it is read-only)."""
    from maintgraph.search.embeddings import build_embedder

    model = build_embedder(Settings())
    model.embed(["load"])
    return model


# -- the sample plant, loaded once: graph, documents and CMMS history ---------------------------------
PLANT = REPO / "data" / "plant"


@contextmanager
def whole_plant_loaded(running_services: RunningServices, prefix: str) -> Iterator[tuple[Settings, object]]:
    """A database and a graph of their own holding the whole sample plant (graph, documents, CMMS
    history): (settings, graph store). Both are removed afterwards."""
    from psycopg.rows import dict_row

    from maintgraph.graph.falkordb import FalkorDBStore
    from maintgraph.graph.linking import EntityLinker
    from maintgraph.graph.loaders import load_paths
    from maintgraph.ingest.pipeline import Ingestor
    from maintgraph.search.embeddings import build_embedder
    from maintgraph.search.store import DocumentStore
    from maintgraph.tools.cmms_import import import_cmms

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = running_services.conninfo("postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}")
    settings = Settings(data_dir=running_services.settings.data_dir, pg_database=name, graph_name=name)
    graph = FalkorDBStore(running_services.services.falkordb.client(), name)
    try:
        graph.ensure_schema()
        load_paths(graph, [PLANT])
        store = DocumentStore(running_services.conninfo(name))
        Ingestor(store, build_embedder(settings), 200, graph, EntityLinker.from_store(graph)).ingest(
            [PLANT / "docs"], progress=False
        )
        store.close()
        with psycopg.connect(running_services.conninfo(name), row_factory=dict_row) as conn:
            import_cmms(conn, PLANT, "plant")
        yield settings, graph
    finally:
        graph.clear()
        graph.close()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def plant_settings(running_services):
    """A database and a graph holding the whole sample plant: graph, documents and CMMS history."""
    with whole_plant_loaded(running_services, "agent") as (settings, _):
        yield settings


@pytest.fixture(scope="session")
def assistant(plant_settings):
    from maintgraph.agent.session import open_assistant

    opened = open_assistant(plant_settings, use_model=False)
    yield opened
    opened.close()


def cli_env(settings: Settings) -> dict[str, str]:
    """The environment that points the command line at ``settings``' stores."""
    return {"MAINTGRAPH_DATA_DIR": str(settings.data_dir), "MAINTGRAPH_PG_DATABASE": settings.pg_database,
            "MAINTGRAPH_GRAPH_NAME": settings.graph_name}  # fmt: skip


# -- the HTTP service and the fakes of the chat platforms ---------------------------------------------


@contextmanager
def served(settings: Settings, use_model: bool = False) -> Iterator[tuple]:
    """The HTTP service on ``settings`` (the bots mount when configured), driven in-process:
    (TestClient, AgentService, KeyStore)."""
    from fastapi.testclient import TestClient

    from maintgraph.agent.service import AgentService
    from maintgraph.apps.api import create_app
    from maintgraph.apps.keys import KeyStore

    service = AgentService(settings, use_model=use_model).open()
    keys = KeyStore(Services(settings).pg_conninfo())
    try:
        with TestClient(create_app(settings, service, keys)) as client:
            yield client, service, keys
    finally:
        keys.close()
        service.close()


def reply_json(handler: BaseHTTPRequestHandler, body: dict, status: int = 200) -> None:
    """Answer a fake platform API's request with ``body`` as JSON."""
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
