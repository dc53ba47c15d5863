"""graphrag's vector store interface on the product's pgvector: created by graphrag's own factory
from its own config objects, written and searched in the real embedded Postgres, filters compiled
to SQL, and nothing written when a vector has the wrong dimension."""

from __future__ import annotations

import pytest
from graphrag_vectors import F, IndexSchema, VectorStoreConfig, VectorStoreDocument, create_vector_store

from maintgraph.search.graphrag_vectors import STORE_TYPE, PgVectorStore, open_index, register


def unit(*values: float) -> list[float]:
    norm = sum(v * v for v in values) ** 0.5
    return [v / norm for v in values]


@pytest.fixture
def index(pg_conninfo):
    store = open_index(pg_conninfo, "entity_description", 3, {"type": "str", "rpn": "int"})
    store.load_documents([
        VectorStoreDocument("Equipment:P-101", unit(1, 0, 0), {"type": "Equipment", "rpn": 120}),
        VectorStoreDocument("Equipment:P-102", unit(0.9, 0.1, 0), {"type": "Equipment", "rpn": 80}),
        VectorStoreDocument("FailureMode:ELP", unit(0, 1, 0), {"type": "FailureMode", "rpn": 200}),
        VectorStoreDocument("Cause:wear", unit(0, 0, 1), {"type": "Cause"}),
    ])  # fmt: skip
    yield store
    store.close()


def test_graphrag_creates_the_pgvector_store_from_its_own_config(pg_conninfo):
    register()
    config = VectorStoreConfig(type=STORE_TYPE, conninfo=pg_conninfo, vector_size=3)
    store = create_vector_store(config, IndexSchema(index_name="community_full_content", vector_size=3))
    try:
        assert isinstance(store, PgVectorStore) and store.index_name == "community_full_content"
        store.connect()
        assert store.count() == 0
    finally:
        store.close()
    with pytest.raises(ValueError, match=f"not registered.*Registered types: .*{STORE_TYPE}"):
        create_vector_store(VectorStoreConfig(type="no_such_store"), IndexSchema())
    with pytest.raises(ValueError, match=r"'conninfo' .* is required"):
        create_vector_store(VectorStoreConfig(type=STORE_TYPE), IndexSchema())


def test_search_returns_the_nearest_first_with_cosine_scores(index):
    hits = index.similarity_search_by_vector(unit(1, 0.05, 0), k=3)
    assert [h.document.id for h in hits] == ["Equipment:P-101", "Equipment:P-102", "FailureMode:ELP"]
    assert 0.99 < hits[0].score <= 1.0 and hits[0].score > hits[1].score > hits[2].score
    assert hits[0].document.data["type"] == "Equipment" and len(hits[0].document.vector) == 3
    found = index.similarity_search_by_text("pump", lambda _text: unit(0, 1, 0), k=1, include_vectors=False)
    assert found[0].document.id == "FailureMode:ELP" and found[0].document.vector is None


def test_filters_are_applied_before_the_k_nearest_are_taken(index):
    query = unit(1, 0, 0)

    def ids(filters, k=10):
        return [h.document.id for h in index.similarity_search_by_vector(query, k=k, filters=filters)]

    assert ids(F.type == "FailureMode", k=1) == ["FailureMode:ELP"]  # not P-101 filtered out afterwards
    assert ids(F.id.in_(["Cause:wear", "Equipment:P-102"])) == ["Equipment:P-102", "Cause:wear"]
    assert ids(F.rpn > 100) == ["Equipment:P-101", "FailureMode:ELP"]  # numbers compare as numbers
    assert ids((F.type == "Equipment") & ~(F.rpn >= 100)) == ["Equipment:P-102"]
    assert ids(F.rpn.exists(False)) == ["Cause:wear"]
    assert ids(F.id.startswith("Equipment:P-1") | (F.type == "Cause")) == ["Equipment:P-101", "Equipment:P-102",
                                                                           "Cause:wear"]  # fmt: skip


def test_writes_replace_update_and_remove_by_id_within_one_index(index, pg_conninfo):
    other = open_index(pg_conninfo, "community_full_content", 3)
    try:
        other.load_documents([VectorStoreDocument("Equipment:P-101", unit(0, 0, 1), {"text": "a report"})])
        index.load_documents([VectorStoreDocument("Equipment:P-101", unit(0, 1, 0), {"type": "Pump"})])  # replaced
        assert index.count() == 4 and other.count() == 1
        assert index.search_by_id("Equipment:P-101").data["type"] == "Pump"
        index.update(VectorStoreDocument("Equipment:P-101", None, {"rpn": 7}))
        updated = index.search_by_id("Equipment:P-101")
        assert updated.data["type"] == "Pump" and updated.data["rpn"] == 7 and updated.update_date
        index.remove(["Equipment:P-101", "Cause:wear"])
        assert index.count() == 2 and other.count() == 1  # the other index keeps its row of the same id
        with pytest.raises(KeyError, match="has no document 'Cause:wear'"):
            index.search_by_id("Cause:wear")
        other.create_index()
        assert other.count() == 0 and index.count() == 2
    finally:
        other.close()


def test_a_vector_of_the_wrong_dimension_is_refused_and_nothing_of_the_batch_is_written(index):
    batch = [VectorStoreDocument("Symptom:noise", unit(1, 1, 0), {}), VectorStoreDocument("Symptom:heat", [1.0, 0.0])]
    with pytest.raises(ValueError, match="'entity_description', document 'Symptom:heat': a vector of 2 dimensions"):
        index.load_documents(batch)
    assert index.count() == 4
