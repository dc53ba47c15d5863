"""FalkorDB's one-writer rule under a long load: the writer's lock outlives its timeout while the
writer works, a writer that lost it replaces nothing, and copies left by dead writers are removed."""

from __future__ import annotations

import shutil
import time
import uuid

import pytest

from maintgraph.errors import GraphQueryError
from maintgraph.graph.falkordb import FalkorDBStore


@pytest.fixture
def store(running_services):
    graph = FalkorDBStore(running_services.services.falkordb.client(), f"lock_{uuid.uuid4().hex[:8]}", lock_timeout_s=1)
    with graph.source_transaction("seed") as tx:
        tx.run("CREATE (:Site {id: 'S1', name: 'first'})")
    yield graph
    graph.clear()


def names(store: FalkorDBStore) -> list[str]:
    return [row["name"] for row in store.read("MATCH (s:Site) RETURN s.name AS name ORDER BY name")]


def test_a_load_longer_than_the_lock_timeout_keeps_the_lock(store):
    connection = store.db.connection
    with store.source_transaction("slow") as tx:
        tx.run("CREATE (:Site {id: 'S2', name: 'second'})")
        time.sleep(2.5)  # 2.5 lock timeouts: without renewal a second writer would get in here
        intruder = connection.lock(f"{store.graph_name}__writer", timeout=1)
        assert not intruder.acquire(blocking=False)
    assert names(store) == ["first", "second"]


def test_a_writer_that_lost_its_lock_replaces_nothing(store):
    connection = store.db.connection
    with pytest.raises(GraphQueryError, match=f"write lock on graph {store.graph_name} was lost"):
        with store.source_transaction("robbed") as tx:
            tx.run("CREATE (:Site {id: 'S3', name: 'third'})")
            connection.delete(f"{store.graph_name}__writer")  # expired, or taken by another writer
            time.sleep(0.8)  # past the next renewal
    assert names(store) == ["first"]
    assert not list(connection.scan_iter(f"{store.graph_name}__tx_*"))


def test_a_copy_left_by_a_dead_writer_is_removed_by_the_next_one(store):
    connection = store.db.connection
    stale = f"{store.graph_name}__tx_deadbeef"
    connection.execute_command("GRAPH.COPY", store.graph_name, stale)  # a writer killed mid-load
    with store.source_transaction("next") as tx:
        tx.run("CREATE (:Site {id: 'S4', name: 'fourth'})")
    assert not connection.exists(stale)
    assert names(store) == ["first", "fourth"]


@pytest.fixture
def own_falkordb():
    """A FalkorDB server of this test's own: the fault below, unguarded, hangs the whole server."""
    from maintgraph.config import Settings
    from maintgraph.connections import DataDir
    from maintgraph.services.falkordb import EmbeddedFalkorDB

    from .conftest import short_tmp_dir

    root = short_tmp_dir("mgf-")
    server = EmbeddedFalkorDB(Settings(data_dir=root), DataDir(root))
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_a_graph_copy_waits_for_the_servers_other_child_instead_of_hanging_it(own_falkordb):
    """FalkorDB 4.16 hangs (PING included) when GRAPH.COPY forks beside a live child process
    (a snapshot, the index garbage collector). A load that starts while a snapshot is being
    written waits for it, and the server keeps answering."""
    db = own_falkordb.client(timeout_s=30)
    store = FalkorDBStore(db, "fork", lock_timeout_s=30)
    with store.source_transaction("seed") as tx:
        tx.run("UNWIND range(1, 500) AS i CREATE (:Site {id: 'S' + toString(i), name: 'site'})")
    pipe = db.connection.pipeline(transaction=False)
    for i in range(300_000):  # enough for the snapshot's child to live a few hundred milliseconds
        pipe.set(f"filler:{i}", "x" * 200)
    pipe.execute()
    db.connection.bgsave()
    assert int(db.connection.info("persistence")["rdb_bgsave_in_progress"]) == 1
    with store.source_transaction("during the snapshot") as tx:
        tx.run("CREATE (:Site {id: 'S0', name: 'written during the snapshot'})")
    assert db.connection.ping()
    assert store.read("MATCH (s:Site) RETURN count(s) AS n") == [{"n": 501}]
