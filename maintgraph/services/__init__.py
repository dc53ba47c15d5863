"""Embedded services: start, stop and status of the local Postgres, graph store and model server.

Everything lives under one data directory (``MAINTGRAPH_DATA_DIR``, :class:`DataDir`). A service
configured by DSN/URI (``MAINTGRAPH_PG_DSN``, ``MAINTGRAPH_GRAPH_URI``, ``MAINTGRAPH_LLM_BASE_URL``)
is external: it is probed, never started or stopped. ``up`` is idempotent, and if one service
fails to start, the ones this call started are stopped again, so nothing is left half-started.

How a client reaches each store (embedded or external) is :mod:`maintgraph.connections`, which
every layer may use; this package, which starts servers, is for the faces and the tests only.
Each embedded server has its own module: :mod:`.postgres`, :mod:`.falkordb`, and
:mod:`maintgraph.llm.server` for vLLM.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from maintgraph.config import Settings, describe_config_file
from maintgraph.connections import DataDir, llm_api_key, pg_conninfo
from maintgraph.errors import ServiceError, ServiceUnavailable
from maintgraph.llm.server import VLLMServer
from maintgraph.processes import LocalServer, ServiceStatus
from maintgraph.services._common import first_line
from maintgraph.services.falkordb import EmbeddedFalkorDB, probe_graph_uri
from maintgraph.services.postgres import EmbeddedPostgres, probe_postgres
from maintgraph.urls import redact_url

__all__ = [
    "DataDir",
    "EmbeddedFalkorDB",
    "EmbeddedPostgres",
    "ServiceStatus",
    "Services",
    "VLLMServer",
    "probe_graph_uri",
    "probe_llm",
    "probe_postgres",
]

log = logging.getLogger(__name__)


def probe_llm(base_url: str, api_key: str | None, timeout_s: float = 5.0) -> ServiceStatus:
    """Ask an OpenAI-compatible server which models it serves."""
    import httpx

    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        response = httpx.get(f"{base_url}/models", headers=headers, timeout=timeout_s)
        response.raise_for_status()
        models = [m.get("id", "?") for m in response.json().get("data", [])]
    except (httpx.HTTPError, ValueError) as exc:
        return ServiceStatus("llm", "external", "unreachable", redact_url(base_url), detail=first_line(exc))
    return ServiceStatus("llm", "external", "running", redact_url(base_url), detail="models: " + ", ".join(models))


# -- the facade -----------------------------------------------------------------------------------


class Services:
    """What ``maintgraph up | down | status`` do, for whatever mix of embedded and external."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.dirs = DataDir(settings.data_dir)
        self.postgres = EmbeddedPostgres(settings, self.dirs) if settings.pg_embedded else None
        self.falkordb = EmbeddedFalkorDB(settings, self.dirs) if settings.graph_embedded else None
        self.llm = VLLMServer(settings) if settings.llm_embedded else None

    @property
    def embedded(self) -> list[LocalServer]:
        return [s for s in (self.postgres, self.falkordb, self.llm) if s is not None]

    def pg_conninfo(self) -> str:
        """How to reach the product's Postgres (:func:`maintgraph.connections.pg_conninfo`)."""
        return pg_conninfo(self.settings)

    def _postgres_status(self) -> ServiceStatus:
        if self.postgres is not None:
            return self.postgres.status()
        dsn = self.pg_conninfo()
        return probe_postgres(dsn, "postgres", "external", redact_url(dsn), self.settings.connect_timeout_s)

    def _graph_status(self) -> ServiceStatus:
        return self.falkordb.status() if self.falkordb is not None else probe_graph_uri(self.settings)

    def llm_status(self) -> ServiceStatus:
        if self.llm is not None:
            return self.llm.status()
        assert self.settings.llm_base_url is not None
        return probe_llm(self.settings.llm_base_url, llm_api_key(self.settings))

    def status(self, llm: bool = True) -> list[ServiceStatus]:
        return [self._postgres_status(), self._graph_status(), *([self.llm_status()] if llm else [])]

    def up(self, llm: bool = True) -> list[ServiceStatus]:
        """Start what is embedded and not running, migrate, and check what is external.

        ``llm=False`` leaves the model server alone (it takes ~30 s and ~3.5 GB to start).
        """
        from maintgraph.migrations import upgrade

        log.info("settings file: %s", describe_config_file())
        if not self.embedded:
            return self._up_unlocked(upgrade, llm)
        self.dirs.ensure_writable()
        with self.dirs.lock():
            return self._up_unlocked(upgrade, llm)

    def _up_unlocked(self, upgrade: Callable[[str], None], llm: bool) -> list[ServiceStatus]:
        started: list[LocalServer] = []
        try:
            if self.postgres is not None and not self.postgres.running():
                self.postgres.start()
                started.append(self.postgres)
            self._require(self._postgres_status(), "MAINTGRAPH_PG_DSN")
            upgrade(self.pg_conninfo())
            if self.falkordb is not None and not self.falkordb.running():
                self.falkordb.start()
                started.append(self.falkordb)
            self._require(self._graph_status(), "MAINTGRAPH_GRAPH_URI")
            if llm and self.llm is not None and not self.llm.running():
                self.llm.start()
                started.append(self.llm)
            if llm:
                self._require(self.llm_status(), "MAINTGRAPH_LLM_BASE_URL")
        except BaseException:
            for service in reversed(started):
                try:
                    service.stop()
                except ServiceError as stop_error:
                    log.error("while undoing a failed start: %s", stop_error)
            raise
        return self.status()

    @staticmethod
    def _require(status: ServiceStatus, setting: str) -> None:
        if status.ok:
            return
        if status.mode == "external":
            raise ServiceUnavailable(f"cannot reach {status.where}: {status.detail}", setting=setting)
        raise ServiceError(f"embedded {status.name} is {status.state} at {status.where}: {status.detail}")

    def down(self) -> list[ServiceStatus]:
        """Stop the embedded services (external ones are never touched)."""
        if not self.embedded or not self.dirs.root.exists():
            return self.status()
        with self.dirs.lock():
            for service in reversed(self.embedded):
                service.stop()
        return self.status()
