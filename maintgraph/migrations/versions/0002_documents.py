"""Documents and chunks: the knowledge set of RAG (pgvector + full text).

``documents`` holds one row per ingested source document with its lineage; ``chunks`` one row
per structural chunk. A near-duplicate chunk (the same safety boilerplate in every manual)
keeps its row, so every document still cites its own chunk ids, but its text and vector are
stored once: ``duplicate_of`` names the chunk that holds them and its own ``embedding`` is
NULL (NULLs are not in the HNSW index, so search never sees it twice).

The vector column has no fixed dimension: the embedding model is configurable. The store
records the model and dimension it holds in ``vector_space`` and builds the HNSW index on
``(embedding::vector(dim))`` for that dimension; a query with another model is refused.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # exec_driver_sql: plain SQL, no SQLAlchemy ":name" bind parsing of the comments.
    op.get_bind().exec_driver_sql(
        """
        CREATE TABLE vector_space (
            id boolean PRIMARY KEY DEFAULT true CHECK (id),  -- one row: the space the store holds
            model text NOT NULL,
            dimension integer NOT NULL CHECK (dimension > 0),
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE documents (
            id bigserial PRIMARY KEY,
            source text NOT NULL UNIQUE,          -- collection:relative/path[:row]
            collection text NOT NULL,
            uri text NOT NULL,
            title text NOT NULL,
            version text,
            doc_type text NOT NULL,
            content_hash text NOT NULL,
            privacy_class text NOT NULL CHECK (privacy_class IN ('public', 'internal', 'restricted', 'personal')),
            licence text NOT NULL,
            equipment_tags text[] NOT NULL DEFAULT '{}',
            ingested_at timestamptz NOT NULL DEFAULT now(),
            data_card jsonb NOT NULL
        );
        CREATE INDEX documents_collection ON documents (collection);
        CREATE TABLE chunks (
            id text PRIMARY KEY,                  -- <document source>#<ordinal>: what [doc:...] cites
            document_id bigint NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
            ordinal integer NOT NULL,
            kind text NOT NULL,
            heading_path text[] NOT NULL DEFAULT '{}',
            heading text NOT NULL DEFAULT '',     -- heading_path joined, for the full-text index
            text text,                            -- NULL for a near-duplicate: see duplicate_of
            token_count integer NOT NULL,
            normal_hash text NOT NULL,            -- hash of the normalised text: exact duplicates
            duplicate_of text REFERENCES chunks (id) DEFERRABLE INITIALLY DEFERRED,
            embedding vector,
            embedding_model text,
            equipment_tags text[] NOT NULL DEFAULT '{}',
            entity_refs text[] NOT NULL DEFAULT '{}',
            doc_type text NOT NULL,
            privacy_class text NOT NULL,
            source text NOT NULL,
            tsv tsvector GENERATED ALWAYS AS (CASE WHEN text IS NOT NULL THEN
                setweight(to_tsvector('english', text), 'A')
                || setweight(to_tsvector('english', heading), 'B')
            END) STORED,
            UNIQUE (document_id, ordinal),
            CHECK ((duplicate_of IS NULL) = (text IS NOT NULL))
        );
        CREATE INDEX chunks_tsv ON chunks USING gin (tsv);
        CREATE INDEX chunks_equipment ON chunks USING gin (equipment_tags);
        CREATE INDEX chunks_normal_hash ON chunks (normal_hash) WHERE duplicate_of IS NULL;
        CREATE INDEX chunks_duplicate_of ON chunks (duplicate_of) WHERE duplicate_of IS NOT NULL;
        CREATE INDEX chunks_document ON chunks (document_id);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS chunks; DROP TABLE IF EXISTS documents; DROP TABLE IF EXISTS vector_space;")
