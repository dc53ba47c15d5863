"""The local server processes maintgraph starts and stops: their status line and small helpers."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import psutil

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

    def status(self) -> ServiceStatus:
        if not self.running():
            return ServiceStatus(self.name, "embedded", "stopped", self.where)
        return self.probe()


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


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
