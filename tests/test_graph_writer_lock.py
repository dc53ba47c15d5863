"""FalkorDB's one-writer rule under a long load: the writer's lock outlives its timeout while the
writer works, a writer that lost it replaces nothing, and copies left by dead writers are removed."""

from __future__ import annotations

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
