"""graphrag's vector indexes (entity descriptions), on pgvector rather than LanceDB files.

One table for every index, keyed by index name and id; the vector has no fixed dimension so an
index may use its own embedder (the store checks each index's dimension on write). Search is
exact: the indexes hold thousands of rows.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.get_bind().exec_driver_sql(
        """
        CREATE TABLE graphrag_vectors (
            index_name text NOT NULL CHECK (index_name ~ '^[A-Za-z_][A-Za-z0-9_]*$'),
            id text NOT NULL,
            embedding vector NOT NULL,
            data jsonb NOT NULL DEFAULT '{}',
            create_date timestamptz,
            update_date timestamptz,
            PRIMARY KEY (index_name, id)
        );
        """
    )


def downgrade() -> None:
    op.get_bind().exec_driver_sql("DROP TABLE graphrag_vectors")
