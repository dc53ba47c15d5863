"""graphrag's vector store interface on the product's Postgres + pgvector.

graphrag keeps its embeddings (entity descriptions, report texts) in a vector store chosen by
``VectorStoreConfig.type``; its default, LanceDB, would put files beside the product's
databases. :func:`register` adds this store to graphrag's factory under :data:`STORE_TYPE`, and
:func:`open_index` opens one of its indexes through that factory, as graphrag itself does.

Every index lives in one table, ``graphrag_vectors`` (migration 0009), keyed by index name and
id. The vector column has no fixed dimension, so each index may use its own embedder; the
dimension an index was opened with is checked on every write. Search is exact cosine over the
index's rows (no HNSW: graphrag's indexes here hold thousands of rows, not millions).

graphrag's filter expressions are compiled to SQL over the ``data`` jsonb column (the id field
maps to the id column), so a filtered search returns the k best rows that pass the filter.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from graphrag_vectors import VectorStore
from pgvector.psycopg import register_vector
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from maintgraph.pg import LazyPool

log = logging.getLogger(__name__)

STORE_TYPE = "maintgraph_pgvector"
# Dates as ISO 8601 strings, as graphrag's documents hold them.
COLUMNS = (
    "id, embedding, data, to_json(create_date) #>> '{}' AS create_date, to_json(update_date) #>> '{}' AS update_date"
)
ENTITY_INDEX = "entity_description"  # graphrag's own name for the entity-description index
ENTITY_FIELDS = {"title": "str", "type": "str", "description": "str", "fingerprint": "str"}


class PgVectorStore(VectorStore):
    """One graphrag index (``index_name``) in the ``graphrag_vectors`` table."""

    def __init__(self, conninfo: str = "", connect_timeout_s: int = 5, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not conninfo:
            raise ValueError(f"vector store {STORE_TYPE!r}: 'conninfo' (the Postgres connection string) is required")
        self._pool = LazyPool(conninfo, "graphrag vector store", connect_timeout_s, register_vector)

    # -- connection and index -------------------------------------------------------------------
    def connect(self) -> None:
        self._pool.open()

    def close(self) -> None:
        self._pool.close()

    @property
    def pool(self) -> ConnectionPool:
        return self._pool.open()

    def create_index(self) -> None:
        """A new, empty index (as graphrag's LanceDB store overwrites its table)."""
        with self.pool.connection() as conn:
            conn.execute("DELETE FROM graphrag_vectors WHERE index_name = %s", (self.index_name,))

    # -- writes ---------------------------------------------------------------------------------
    def _vector(self, document: Any) -> np.ndarray:
        vector = np.asarray(document.vector, dtype=np.float32)
        if vector.shape != (self.vector_size,):
            raise ValueError(f"index {self.index_name!r}, document {document.id!r}: a vector of "
                             f"{vector.size} dimensions, the index holds {self.vector_size}")  # fmt: skip
        return vector

    def load_documents(self, documents: list[Any]) -> None:
        """Insert, or replace those with the same id; all or none."""
        rows = []
        for document in documents:
            if document.vector is None:
                continue  # graphrag skips documents it could not embed
            self._prepare_document(document)
            rows.append((self.index_name, str(document.id), self._vector(document), Jsonb(document.data),
                         document.create_date, document.update_date))  # fmt: skip
        with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO graphrag_vectors (index_name, id, embedding, data, create_date, update_date) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (index_name, id) DO UPDATE SET "
                "embedding = EXCLUDED.embedding, data = EXCLUDED.data, create_date = EXCLUDED.create_date, "
                "update_date = EXCLUDED.update_date",
                rows,
            )

    def update(self, document: Any) -> None:
        self._prepare_update(document)
        with self.pool.connection() as conn:
            found = conn.execute(
                "UPDATE graphrag_vectors SET embedding = COALESCE(%s, embedding), data = data || %s, "
                "update_date = %s WHERE index_name = %s AND id = %s",
                (None if document.vector is None else self._vector(document), Jsonb(document.data),
                 document.update_date, self.index_name, str(document.id)),
            ).rowcount  # fmt: skip
        if not found:
            raise KeyError(f"index {self.index_name!r} has no document {document.id!r}")

    def remove(self, ids: list[str]) -> None:
        with self.pool.connection() as conn:
            conn.execute("DELETE FROM graphrag_vectors WHERE index_name = %s AND id = ANY(%s)",
                         (self.index_name, [str(i) for i in ids]))  # fmt: skip

    # -- reads ----------------------------------------------------------------------------------
    def count(self) -> int:
        with self.pool.connection() as conn:
            row = conn.execute("SELECT count(*) AS n FROM graphrag_vectors WHERE index_name = %s",
                               (self.index_name,)).fetchone()  # fmt: skip
        return int(row["n"])

    def data_by_id(self, field: str) -> dict[str, Any]:
        """One data field of every document, by id: what an incremental load compares against."""
        with self.pool.connection() as conn:
            rows = conn.execute("SELECT id, data ->> %s AS value FROM graphrag_vectors WHERE index_name = %s",
                                (field, self.index_name)).fetchall()  # fmt: skip
        return {row["id"]: row["value"] for row in rows}

    def similarity_search_by_vector(self, query_embedding: list[float], k: int = 10, select: list[str] | None = None,
                                    filters: Any = None, include_vectors: bool = True) -> list[Any]:  # fmt: skip
        from graphrag_vectors import VectorStoreSearchResult

        where, params = ("", []) if filters is None else self._compile(filters)
        query = np.asarray(query_embedding, dtype=np.float32)
        with self.pool.connection() as conn:
            rows = conn.execute(
                f"SELECT {COLUMNS}, embedding <=> %s AS distance "
                f"FROM graphrag_vectors WHERE index_name = %s {'AND ' + where if where else ''} "
                "ORDER BY distance LIMIT %s",
                [query, self.index_name, *params, k],
            ).fetchall()
        return [VectorStoreSearchResult(self._document(row, select, include_vectors), 1.0 - float(row["distance"]))
                for row in rows]  # fmt: skip

    def search_by_id(self, id: str, select: list[str] | None = None, include_vectors: bool = True) -> Any:
        with self.pool.connection() as conn:
            row = conn.execute(
                f"SELECT {COLUMNS} FROM graphrag_vectors WHERE index_name = %s AND id = %s",
                (self.index_name, str(id)),
            ).fetchone()
        if row is None:
            raise KeyError(f"index {self.index_name!r} has no document {id!r}")
        return self._document(row, select, include_vectors)

    def _document(self, row: dict[str, Any], select: list[str] | None, include_vectors: bool) -> Any:
        from graphrag_vectors import VectorStoreDocument

        data = row["data"] if select is None else {k: v for k, v in row["data"].items() if k in select}
        vector = [float(x) for x in row["embedding"].to_list()] if include_vectors else None
        return VectorStoreDocument(row["id"], vector, data, row["create_date"], row["update_date"])

    # -- filters --------------------------------------------------------------------------------
    def _compile(self, expr: Any) -> tuple[str, list[Any]]:
        """graphrag's filter expression as a SQL condition and its parameters."""
        from graphrag_vectors import AndExpr, Condition, NotExpr, OrExpr

        if isinstance(expr, Condition):
            return self._condition(expr)
        if isinstance(expr, AndExpr | OrExpr):
            parts = [self._compile(e) for e in (expr.and_ if isinstance(expr, AndExpr) else expr.or_)]
            joiner = " AND " if isinstance(expr, AndExpr) else " OR "
            return "(" + joiner.join(sql for sql, _ in parts) + ")", [p for _, params in parts for p in params]
        if isinstance(expr, NotExpr):
            sql, params = self._compile(expr.not_)
            return f"NOT {sql}", params
        raise ValueError(f"unsupported filter expression: {expr!r}")

    def _condition(self, cond: Any) -> tuple[str, list[Any]]:
        op, value = cond.operator.value, cond.value
        column, params = ("id", []) if cond.field == self.id_field else ("(data ->> %s)", [cond.field])
        if op == "exists":
            return ((f"{column} IS NOT NULL" if value else f"{column} IS NULL"), params)
        if op in ("in", "not_in"):
            sql = f"{column} = ANY(%s)" if op == "in" else f"NOT ({column} = ANY(%s))"
            return sql, [*params, [str(v) for v in value]]
        if op in ("contains", "startswith", "endswith"):
            pattern = {"contains": "%{}%", "startswith": "{}%", "endswith": "%{}"}[op]
            escaped = str(value).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            return f"{column} LIKE %s", [*params, pattern.format(escaped)]
        sql_op = {"eq": "=", "ne": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}.get(op)
        if sql_op is None:
            raise ValueError(f"unsupported filter operator: {op!r}")
        if isinstance(value, bool):
            return f"{column} {sql_op} %s", [*params, "true" if value else "false"]
        if isinstance(value, int | float):  # numbers compare as numbers, not as text
            return f"({column})::float8 {sql_op} %s", [*params, float(value)]
        return f"{column} {sql_op} %s", [*params, str(value)]


def register() -> None:
    """Make :data:`STORE_TYPE` known to graphrag's vector store factory (once)."""
    from graphrag_vectors import register_vector_store, vector_store_factory

    if STORE_TYPE not in vector_store_factory:
        register_vector_store(STORE_TYPE, PgVectorStore)


def open_index(conninfo: str, index_name: str, vector_size: int, fields: dict[str, str] | None = None,
               connect_timeout_s: int = 5) -> PgVectorStore:  # fmt: skip
    """One index, created through graphrag's factory from its own config objects. It connects on
    first use, so an assistant that is never asked a plant-wide question opens no connection for it."""
    from graphrag_vectors import IndexSchema, VectorStoreConfig, create_vector_store

    register()
    config = VectorStoreConfig(type=STORE_TYPE, vector_size=vector_size, conninfo=conninfo,
                               connect_timeout_s=connect_timeout_s)  # fmt: skip
    schema = IndexSchema(index_name=index_name, vector_size=vector_size, fields=fields or {})
    return create_vector_store(config, schema)


def entity_index(conninfo: str, embedder: Any, connect_timeout_s: int = 5) -> PgVectorStore:
    """graphrag's entity-description index, in the dimension of the product's embedder."""
    return open_index(conninfo, ENTITY_INDEX, embedder.dimension, ENTITY_FIELDS, connect_timeout_s)


def nearest(store: PgVectorStore, embedder: Any, text: str, among: list[str], k: int) -> list[str]:
    """The ids of the ``k`` documents among ``among`` whose vectors are closest to ``text``'s."""
    from graphrag_vectors import F

    if not among or k <= 0:
        return []
    hits = store.similarity_search_by_text(text, lambda t: [float(x) for x in embedder.embed([t])[0]], k=k,
                                           filters=F.id.in_(among), include_vectors=False)  # fmt: skip
    return [str(hit.document.id) for hit in hits]
