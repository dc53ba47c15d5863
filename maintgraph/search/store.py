"""The pgvector document store: documents, chunks, vectors, full text, hybrid search.

Writes are per document and all-or-nothing: :meth:`DocumentStore.replace_document` deletes
what the source produced before and inserts the new chunks in one transaction. Search fuses an
HNSW cosine ranking with a ``tsvector`` full-text ranking (reciprocal rank fusion) under the
same metadata filters; with filters, pgvector's iterative index scan keeps fetching
candidates until enough pass them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool
from rapidfuzz import fuzz

from maintgraph.errors import EmbeddingMismatch
from maintgraph.pg import LazyPool
from maintgraph.search.fusion import apply_boosts, reciprocal_rank_fusion
from maintgraph.search.records import Chunk, Document

log = logging.getLogger(__name__)

# A chunk this close to an existing one (cosine distance), and with nearly the same words, is a
# near-duplicate: boilerplate with a changed product name or a reflowed line.
NEAR_DUPLICATE_DISTANCE = 0.03
NEAR_DUPLICATE_TEXT = 92.0
CANDIDATES = 40  # per ranking, before fusion
INDEX_NAME = "chunks_embedding_hnsw"
INDEX_MEMORY = "512MB"  # HNSW builds twice as fast with 512MB as with the 64MB default (DESIGN.md)


@dataclass
class StoredChunk:
    """A chunk ready to write: the chunk, its vector, normalised-text hash and linked entities."""

    chunk: Chunk
    vector: np.ndarray
    normal_hash: str
    entity_refs: list[str] = field(default_factory=list)
    equipment_tags: list[str] = field(default_factory=list)
    duplicate_of: str | None = None


@dataclass
class SearchHit:
    chunk_id: str
    score: float
    text: str
    title: str
    source: str
    uri: str
    heading_path: list[str]
    doc_type: str
    privacy_class: str
    equipment_tags: list[str]
    vector_rank: int | None
    text_rank: int | None
    also_in: list[str] = field(default_factory=list)  # other documents holding the same (deduplicated) text

    @property
    def citation(self) -> str:
        return f"[doc:{self.chunk_id}]"


@dataclass
class SearchFilters:
    equipment_tags: list[str] = field(default_factory=list)
    doc_types: list[str] = field(default_factory=list)
    other_than_doc_types: list[str] = field(default_factory=list)  # e.g. the community reports, kept apart
    privacy_classes: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # exact source, or a prefix ending in ':' or '/'

    def sql(self) -> tuple[str, dict[str, Any]]:
        """The conditions on the chunks ``c`` (`` AND ...``, or nothing without filters) and their parameters."""
        # Each filter: the values it keeps, its condition, the condition's parameter. An empty one keeps all.
        filters = [
            ([t.upper() for t in self.equipment_tags], "c.equipment_tags && %(f_tags)s", "f_tags"),
            (self.doc_types, "c.doc_type = ANY(%(f_types)s)", "f_types"),
            (self.other_than_doc_types, "c.doc_type <> ALL(%(f_not_types)s)", "f_not_types"),
            (self.privacy_classes, "c.privacy_class = ANY(%(f_privacy)s)", "f_privacy"),
            (self.sources, "(c.source = ANY(%(f_sources)s) OR c.source LIKE ANY(%(f_prefixes)s))", "f_sources"),
        ]
        clauses = [condition for values, condition, _ in filters if values]
        params: dict[str, Any] = {name: values for values, _, name in filters if values}
        if self.sources:
            params["f_prefixes"] = [like_prefix(s) for s in self.sources if s.endswith((":", "/"))]
        return (" AND " + " AND ".join(clauses)) if clauses else "", params


class DocumentStore:
    """Connections come from a small pool: a new connection costs ~5 ms, more than a search."""

    def __init__(self, conninfo: str, connect_timeout_s: int = 5) -> None:
        self._pool = LazyPool(conninfo, "document store", connect_timeout_s, register_vector)

    @property
    def pool(self) -> ConnectionPool:
        return self._pool.open()

    def connect(self) -> AbstractContextManager[psycopg.Connection]:
        return self._pool.connection()

    def close(self) -> None:
        self._pool.close()

    # -- the vector space ----------------------------------------------------------------------
    def ensure_space(self, model: str, dimension: int, build_index: bool = True) -> None:
        """Record which model fills the store (first ingest), or refuse a different one."""
        with self.connect() as conn, conn.transaction():
            conn.execute("LOCK TABLE vector_space IN EXCLUSIVE MODE")
            row = conn.execute("SELECT model, dimension FROM vector_space").fetchone()
            if row is None:
                conn.execute("INSERT INTO vector_space (model, dimension) VALUES (%s, %s)", (model, dimension))
            else:
                self._check(row, model, dimension)
        if build_index:
            self.build_index(dimension)

    @staticmethod
    def _check(row: dict, model: str, dimension: int) -> None:
        if (row["model"], row["dimension"]) != (model, dimension):
            raise EmbeddingMismatch(
                f"the document store holds {row['dimension']}-d vectors from {row['model']!r}, but the "
                f"configured embedding model is {model!r} ({dimension}-d); set MAINTGRAPH_EMBEDDING_MODEL="
                f"{row['model']!r}, or delete the documents and ingest them again with the new model"
            )

    def space(self) -> tuple[str, int] | None:
        with self.connect() as conn:
            row = conn.execute("SELECT model, dimension FROM vector_space").fetchone()
        return (row["model"], row["dimension"]) if row else None

    def build_index(self, dimension: int) -> None:
        with self.connect() as conn, conn.transaction():
            conn.execute(f"SET LOCAL maintenance_work_mem = '{INDEX_MEMORY}'")
            conn.execute(
                f"CREATE INDEX IF NOT EXISTS {INDEX_NAME} ON chunks USING hnsw "
                f"((embedding::vector({int(dimension)})) vector_cosine_ops) WHERE embedding IS NOT NULL"
            )

    def drop_index(self) -> None:
        with self.connect() as conn:
            conn.execute(f"DROP INDEX IF EXISTS {INDEX_NAME}")
            conn.commit()

    # -- writing -------------------------------------------------------------------------------
    def content_hashes(self, sources: Sequence[str]) -> dict[str, str]:
        with self.connect() as conn:
            rows = conn.execute("SELECT source, content_hash FROM documents WHERE source = ANY(%s)", (list(sources),))
            return {row["source"]: row["content_hash"] for row in rows}

    def _find_duplicates(self, conn: psycopg.Connection, items: list[StoredChunk]) -> None:
        """Mark each item that repeats a stored chunk (same normalised text, or a near-duplicate)
        or an earlier item of the same document: ``duplicate_of`` is set, or left None."""
        dimension = items[0].vector.shape[0] if items else 0
        exact = {
            row["normal_hash"]: row["id"]
            for row in conn.execute(
                "SELECT DISTINCT ON (normal_hash) normal_hash, id FROM chunks "
                "WHERE duplicate_of IS NULL AND normal_hash = ANY(%s) ORDER BY normal_hash, id",
                ([i.normal_hash for i in items],),
            )
        }
        for item in items:
            item.duplicate_of = exact.get(item.normal_hash)
        pending = [n for n, item in enumerate(items) if item.duplicate_of is None]
        if pending:
            # One nearest-neighbour query per chunk, pipelined: with a constant query vector the
            # planner uses the HNSW index (a LATERAL join over all of them scans the table).
            vec = f"embedding::vector({dimension})"
            prefer_vector_index(conn)
            with conn.cursor() as cur:
                cur.executemany(
                    f"SELECT %s::int AS n, id, text, {vec} <=> %s::vector({dimension}) AS distance FROM chunks "
                    f"WHERE embedding IS NOT NULL ORDER BY {vec} <=> %s::vector({dimension}) LIMIT 1",
                    [(n, items[n].vector, items[n].vector) for n in pending],
                    returning=True,
                )
                rows = []
                while True:
                    rows.extend(cur.fetchall())
                    if not cur.nextset():
                        break
            for row in rows:
                if row["distance"] <= NEAR_DUPLICATE_DISTANCE and (
                    fuzz.ratio(items[row["n"]].chunk.text, row["text"]) >= NEAR_DUPLICATE_TEXT
                ):
                    items[row["n"]].duplicate_of = row["id"]
        # Within the document itself: a later chunk repeating an earlier one.
        first_by_hash: dict[str, int] = {}
        for n, item in enumerate(items):
            if item.duplicate_of is None:
                earlier = first_by_hash.setdefault(item.normal_hash, n)
                if earlier != n:
                    item.duplicate_of = f"#{earlier}"  # resolved to an id by the writer

    def replace_document(
        self, document: Document, items: list[StoredChunk], model: str, before_commit: Callable[[], None] | None = None
    ) -> None:
        """Write one document and its chunks, replacing whatever its source held before, in one
        transaction. ``before_commit`` runs last inside it (the graph links): if it fails,
        nothing of the document is written."""
        with self.connect() as conn, conn.transaction():
            self._delete(conn, [document.source])
            self._find_duplicates(conn, items)
            doc_id = conn.execute(
                """INSERT INTO documents (source, collection, uri, title, version, doc_type, content_hash,
                       privacy_class, licence, equipment_tags, ingested_at, data_card)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
                (document.source, document.collection, document.uri, document.title, document.version,
                 document.doc_type, document.content_hash, document.privacy_class, document.licence,
                 document.equipment_tags, document.ingested_at, Jsonb(document.data_card)),
            ).fetchone()["id"]  # fmt: skip
            ids = [chunk_id(document.source, item.chunk.ordinal) for item in items]
            with conn.cursor().copy(
                "COPY chunks (id, document_id, ordinal, kind, heading_path, heading, text, token_count, normal_hash, "
                "duplicate_of, embedding, embedding_model, equipment_tags, entity_refs, doc_type, privacy_class, "
                "source) FROM STDIN WITH (FORMAT BINARY)"
            ) as copy:
                copy.set_types(["text", "int8", "int4", "text", "text[]", "text", "text", "int4", "text", "text",
                                "vector", "text", "text[]", "text[]", "text", "text", "text"])  # fmt: skip
                for cid, item in zip(ids, items, strict=True):
                    dup = item.duplicate_of
                    if dup and dup.startswith("#"):
                        dup = ids[int(dup[1:])]
                    chunk = item.chunk
                    copy.write_row((
                        cid, doc_id, chunk.ordinal, chunk.kind, list(chunk.heading_path),
                        " > ".join(chunk.heading_path),
                        None if dup else chunk.text, chunk.token_count, item.normal_hash, dup,
                        None if dup else item.vector, None if dup else model, item.equipment_tags,
                        item.entity_refs, document.doc_type, document.privacy_class, document.source,
                    ))  # fmt: skip
            if before_commit is not None:
                before_commit()

    def delete(self, sources: Sequence[str], before_commit: Callable[[], object] | None = None) -> list[str]:
        """Delete documents and their chunks in one transaction; ``before_commit`` runs last
        inside it (the graph links). Returns the sources deleted."""
        with self.connect() as conn, conn.transaction():
            deleted = self._delete(conn, sources)
            if before_commit is not None:
                before_commit()
            return deleted

    def _delete(self, conn: psycopg.Connection, sources: Sequence[str]) -> list[str]:
        docs = conn.execute("SELECT id, source FROM documents WHERE source = ANY(%s)", (list(sources),)).fetchall()
        if not docs:
            return []
        doc_ids = [d["id"] for d in docs]
        # Chunks of other documents that point at a chunk about to go: the first of them takes
        # over the text and vector, the rest point at it.
        orphans = conn.execute(
            """SELECT d.id AS dup, d.duplicate_of AS canonical FROM chunks d JOIN chunks c ON c.id = d.duplicate_of
               WHERE c.document_id = ANY(%s) AND d.document_id <> ALL(%s) ORDER BY d.duplicate_of, d.id""",
            (doc_ids, doc_ids),
        ).fetchall()
        heirs: dict[str, str] = {}
        for row in orphans:
            heirs.setdefault(row["canonical"], row["dup"])
        for canonical, heir in heirs.items():
            conn.execute(
                """UPDATE chunks h SET text = c.text, embedding = c.embedding, embedding_model = c.embedding_model,
                       duplicate_of = NULL FROM chunks c WHERE c.id = %s AND h.id = %s""",
                (canonical, heir),
            )
            conn.execute("UPDATE chunks SET duplicate_of = %s WHERE duplicate_of = %s AND id <> %s",
                         (heir, canonical, heir))  # fmt: skip
        conn.execute("DELETE FROM documents WHERE id = ANY(%s)", (doc_ids,))
        return [d["source"] for d in docs]

    # -- reading -------------------------------------------------------------------------------
    def documents(self, collection: str | None = None) -> list[dict[str, Any]]:
        with self.connect() as conn:
            return conn.execute(
                """SELECT d.source, d.title, d.version, d.doc_type, d.privacy_class, d.licence, d.ingested_at,
                          d.content_hash, count(c.id) AS chunks, count(c.duplicate_of) AS duplicates
                   FROM documents d LEFT JOIN chunks c ON c.document_id = d.id
                   WHERE %(collection)s::text IS NULL OR d.collection = %(collection)s
                   GROUP BY d.id ORDER BY d.source""",
                {"collection": collection},
            ).fetchall()

    def sources_matching(self, source: str) -> list[str]:
        """The stored sources ``source`` names: itself, or the rows of a sheet (``source:row``)."""
        with self.connect() as conn:
            rows = conn.execute(
                "SELECT source FROM documents WHERE source = %s OR source LIKE %s ORDER BY source",
                (source, like_prefix(source + ":")),
            )
            return [row["source"] for row in rows]

    def search(
        self,
        query_text: str,
        query_vector: np.ndarray,
        model: str,
        k: int = 10,
        filters: SearchFilters | None = None,
        boost_equipment: Sequence[str] = (),
        boost_doc_types: dict[str, float] | None = None,
    ) -> list[SearchHit]:
        filters = filters or SearchFilters()
        where, params = filters.sql()
        dimension = int(query_vector.shape[0])
        candidates = max(CANDIDATES, k * 4)
        with self.connect() as conn, conn.transaction():
            space = conn.execute("SELECT model, dimension FROM vector_space").fetchone()
            if space is None:
                return []
            self._check(space, model, dimension)
            prefer_vector_index(conn)
            if where:
                conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
            vec = f"c.embedding::vector({dimension})"
            rows = conn.execute(
                f"""(SELECT c.id, 'v' AS ranking FROM chunks c WHERE c.embedding IS NOT NULL{where}
                     ORDER BY {vec} <=> %(q)s::vector({dimension}) LIMIT %(n)s)
                    UNION ALL
                    (SELECT c.id, 't' FROM chunks c, websearch_to_tsquery('english', %(text)s) query
                     WHERE c.tsv @@ query{where} ORDER BY ts_rank_cd(c.tsv, query) DESC, c.id LIMIT %(n)s)""",
                {"q": query_vector, "n": candidates, "text": query_text, **params},
            ).fetchall()
            vector_ids = [r["id"] for r in rows if r["ranking"] == "v"]
            text_ids = [r["id"] for r in rows if r["ranking"] == "t"]
            fused = reciprocal_rank_fusion([vector_ids, text_ids])
            details = {
                row["id"]: row
                for row in conn.execute(
                    """SELECT c.id, c.text, c.heading_path, c.doc_type, c.privacy_class, c.equipment_tags, c.source,
                              d.title, d.uri,
                              (SELECT array_agg(DISTINCT o.source) FROM chunks o
                               WHERE o.duplicate_of = c.id AND o.source <> c.source) AS also_in
                       FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id = ANY(%s)""",
                    (list(fused),),
                )
            }
        scores = apply_boosts(fused, details, boost_equipment, boost_doc_types)
        ranked = sorted(scores, key=lambda item: (-scores[item], item))[:k]
        return [
            SearchHit(
                item, round(scores[item], 6), details[item]["text"], details[item]["title"], details[item]["source"],
                details[item]["uri"], details[item]["heading_path"], details[item]["doc_type"],
                details[item]["privacy_class"], details[item]["equipment_tags"],
                vector_ids.index(item) + 1 if item in vector_ids else None,
                text_ids.index(item) + 1 if item in text_ids else None, sorted(details[item]["also_in"] or []),
            )
            for item in ranked
        ]  # fmt: skip

    def vector_search(self, query_vector: np.ndarray, k: int) -> list[str]:
        """Plain HNSW top-k chunk ids (the benchmark compares it with exact search)."""
        dimension = int(query_vector.shape[0])
        with self.connect() as conn, conn.transaction():
            prefer_vector_index(conn)
            rows = conn.execute(
                f"SELECT id FROM chunks c WHERE c.embedding IS NOT NULL "
                f"ORDER BY c.embedding::vector({dimension}) <=> %s::vector({dimension}) LIMIT %s",
                (query_vector, k),
            ).fetchall()
        return [row["id"] for row in rows]


def prefer_vector_index(conn: psycopg.Connection) -> None:
    """Steer the current transaction's nearest-neighbour queries to the HNSW index.

    The planner prices the cosine distance over the cast ``embedding::vector(d)`` far below its
    real cost (about 3 us a row here), so below ~20k rows it picks a sequential scan that is 10x
    slower than the index (measured: 6.4 ms against 0.5 ms at 2k rows). Queries with no usable
    index still run; the planner only stops preferring the scan.
    """
    conn.execute("SET LOCAL enable_seqscan = off")


def like_prefix(text: str) -> str:
    """A LIKE pattern matching strings that start with ``text`` (its % and _ taken literally)."""
    return text.replace("%", r"\%").replace("_", r"\_") + "%"


def chunk_id(source: str, ordinal: int) -> str:
    return f"{source}#{ordinal}"
