"""pgvector: the extension, its version check and the HNSW search default.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from alembic import op

from maintgraph.migrations import require_pgvector

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    available = bind.exec_driver_sql(
        "SELECT default_version FROM pg_available_extensions WHERE name = 'vector'"
    ).scalar()
    installed = bind.exec_driver_sql("SELECT extversion FROM pg_extension WHERE extname = 'vector'").scalar()
    require_pgvector(installed or available)
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    # Recall@10 >= 0.95 needs a wider HNSW candidate list than pgvector's default of 40.
    op.execute("DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET hnsw.ef_search = 100', current_database()); END $$")


def downgrade() -> None:
    op.execute("DO $$ BEGIN EXECUTE format('ALTER DATABASE %I RESET hnsw.ef_search', current_database()); END $$")
    op.execute("DROP EXTENSION IF EXISTS vector")
