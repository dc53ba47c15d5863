"""The local server processes maintgraph starts and stops: their status line and small helpers."""

from __future__ import annotations

import time
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
