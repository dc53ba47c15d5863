"""Connection pools on the product's Postgres, shared by the document store and the CMMS."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from maintgraph.errors import ServiceUnavailable


def open_pool(
    conninfo: str,
    what: str,
    connect_timeout_s: int = 5,
    configure: Callable[[psycopg.Connection], None] | None = None,
    connection_kwargs: dict[str, Any] | None = None,
    check: bool = False,
) -> ConnectionPool:
    """A small open pool (dict rows), or ServiceUnavailable naming ``what`` and libpq's reason.

    A pool, because a new connection costs ~5 ms: more than a search or a lookup. ``check``: each
    connection is tested as it is taken (one round trip), so a restarted server costs no request.
    """
    pool = ConnectionPool(
        conninfo, min_size=1, max_size=4, open=False, configure=configure,
        check=ConnectionPool.check_connection if check else None,
        kwargs={"row_factory": dict_row, "connect_timeout": connect_timeout_s, **(connection_kwargs or {})},
    )  # fmt: skip
    try:
        pool.open(wait=True, timeout=connect_timeout_s)
    except PoolTimeout:
        pool.close()
        try:  # one direct attempt, for libpq's own reason
            psycopg.connect(conninfo, connect_timeout=connect_timeout_s).close()
        except psycopg.OperationalError as exc:
            raise ServiceUnavailable(f"{what} unreachable: {str(exc).strip()}") from None
        raise ServiceUnavailable(f"{what} unreachable (no connection within the timeout)") from None
    return pool


class LazyPool:
    """A pool opened by its first connection, not when it is made: a store can be built before its
    server is up, and costs nothing until it is used. After :meth:`close` the next use opens it again.
    """

    def __init__(
        self,
        conninfo: str,
        what: str,
        connect_timeout_s: int = 5,
        configure: Callable[[psycopg.Connection], None] | None = None,
    ) -> None:
        self.conninfo, self.what, self.connect_timeout_s, self.configure = conninfo, what, connect_timeout_s, configure
        self._pool: ConnectionPool | None = None

    def open(self) -> ConnectionPool:
        """The pool, opened first if it is not."""
        if self._pool is None:
            self._pool = open_pool(self.conninfo, self.what, self.connect_timeout_s, self.configure)
        return self._pool

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        with self.open().connection() as conn:
            yield conn

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
