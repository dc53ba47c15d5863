"""The local server processes maintgraph starts and stops: their status line and small helpers.

A pid file is trusted only while the process it names is still the server that wrote it (same
start time, same program): after a reboot the recorded pid may belong to anything, and ``down``
must never signal it (:func:`identify`).
"""

from __future__ import annotations

import logging
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import psutil

log = logging.getLogger(__name__)

State = Literal["running", "stopped", "unreachable"]


@dataclass(frozen=True)
class ServiceStatus:
    """One line of ``maintgraph status``."""

    name: str
    mode: Literal["embedded", "external"]
    state: State
    where: str
    version: str | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.state == "running"


class LocalServer(ABC):
    """A server process maintgraph starts and stops itself (the embedded Postgres and FalkorDB,
    vLLM): what ``maintgraph up | down | status`` need of each, whichever it is."""

    name: str  # its line in ``maintgraph status``
    stale: str = ""  # set by pid(): why a pid file was ignored (it names another process), for status

    @property
    @abstractmethod
    def where(self) -> str:
        """Where clients reach it (a socket path or a URL), as its status shows it."""

    @abstractmethod
    def pid(self) -> int | None:
        """The server's pid while it runs, else None."""

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def stop(self) -> None: ...

    @abstractmethod
    def probe(self) -> ServiceStatus:
        """The status of the server while its process runs: answering (running), or not (unreachable)."""

    def running(self) -> bool:
        return self.pid() is not None

    def trusted(self, pid_file: Path, pid: int, started: float | None, *, exe: Path | None = None,
                marker: str | None = None) -> int | None:  # fmt: skip
        """``pid`` when the process is still the server ``pid_file`` recorded (:func:`identify`); else None,
        and when a live process of another program holds that pid, :attr:`stale` says so (``status``
        shows it; ``down`` leaves that process alone)."""
        why = identify(pid, started, exe=exe, marker=marker)
        stale = f"stale pid file {pid_file} ignored: {why}" if why else ""
        if stale and stale != self.stale:
            log.warning("%s: %s", self.name, stale)
        self.stale = stale
        return pid if why is None else None

    def status(self) -> ServiceStatus:
        if not self.running():
            return ServiceStatus(self.name, "embedded", "stopped", self.where, detail=self.stale)
        return self.probe()


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def identify(pid: int, started: float | None, *, exe: Path | None = None, marker: str | None = None) -> str | None:
    """Whether ``pid`` is still the server a pid file recorded.

    None: it is (alive, started at ``started`` give or take a second when that was recorded, and
    running ``exe`` or with ``marker`` in its command line). ``""``: no such process (the pid
    file is left over from a crash). Otherwise why the live process there is another one.
    """
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return ""
        if started is not None and abs(process.create_time() - started) > 1.5:
            return f"pid {pid} is another process (started at {process.create_time():.0f}, not {started:.0f})"
        if exe is not None and Path(process.exe()).resolve() != exe.resolve():
            return f"pid {pid} is another program ({process.exe()})"
        if marker is not None and marker not in " ".join(process.cmdline()):
            return f"pid {pid} is another program ({' '.join(process.cmdline())[:80]})"
    except psutil.NoSuchProcess:
        return ""
    except (psutil.Error, OSError) as exc:  # e.g. another user's process: certainly not ours to signal
        return f"pid {pid} cannot be inspected ({exc})"
    return None


def write_pid_file(path: Path, pid: int) -> None:
    """Record ``pid`` with its start time, readable by the owner only."""
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(f"{pid} {psutil.Process(pid).create_time()}")
    os.replace(temporary, path)


def read_pid_file(path: Path) -> tuple[int, float | None] | None:
    """(pid, start time) from a file :func:`write_pid_file` wrote (a bare pid has no start time)."""
    try:
        fields = path.read_text().split()
        return int(fields[0]), float(fields[1]) if len(fields) > 1 else None
    except (OSError, ValueError, IndexError):
        return None


def wait_for(condition: Callable[[], bool], timeout_s: float, interval_s: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval_s)
    return condition()


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
