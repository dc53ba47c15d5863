"""Reviews of recorded answers: a person approves an answer (or writes the right one) or rejects it.

Approved reviews are what ``maintgraph finetune examples from-traces --approved`` exports as
supervision examples. One review per trace; a new review replaces the old one.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.get_bind().exec_driver_sql(
        """
        CREATE TABLE trace_reviews (
            trace_id uuid PRIMARY KEY REFERENCES agent_traces (id) ON DELETE CASCADE,
            verdict text NOT NULL CHECK (verdict IN ('approved', 'rejected')),
            answer text,
            reviewer text NOT NULL CHECK (reviewer <> ''),
            reviewed_at timestamptz NOT NULL DEFAULT now()
        );
        """
    )


def downgrade() -> None:
    op.get_bind().exec_driver_sql("DROP TABLE trace_reviews")
