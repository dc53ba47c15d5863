"""Guard audit log: one row per guard decision, never the text or the personal data itself.

What fired (the guard and the span types it found, with offsets), in which direction, the
policy and the action taken, where (agent turn, ingestion of a source, the CLI), and how long
the check took. Queried with ``maintgraph guard audit``.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.get_bind().exec_driver_sql(
        """
        CREATE TABLE guard_audit (
            id bigserial PRIMARY KEY,
            at timestamptz NOT NULL DEFAULT now(),
            origin text NOT NULL,
            ref text,
            direction text NOT NULL CHECK (direction IN ('input', 'retrieved', 'output', 'ingest')),
            guard text NOT NULL,
            policy text NOT NULL CHECK (policy IN ('block', 'fix', 'flag')),
            action text NOT NULL CHECK (action IN ('passed', 'blocked', 'fixed', 'flagged')),
            span_types text[] NOT NULL DEFAULT '{}',
            spans jsonb NOT NULL DEFAULT '[]',
            ms double precision
        );
        CREATE INDEX guard_audit_at ON guard_audit (at);
        CREATE INDEX guard_audit_fired ON guard_audit (guard, action) WHERE action <> 'passed';
        """
    )


def downgrade() -> None:
    op.get_bind().exec_driver_sql("DROP TABLE guard_audit")
