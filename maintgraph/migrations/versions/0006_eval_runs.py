"""Evaluation runs and their per-item results.

A run (an evaluation of test sets, or a replay of recorded traces) records its configuration
(sets and their versions, contestants, model, adapter and graph versions) and, once every item
is answered, its summary. Each item's result is written as soon as it is scored, so an
interrupted run resumes where it stopped and a report is only ever made of a complete run.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.get_bind().exec_driver_sql(
        """
        CREATE TABLE eval_runs (
            id text PRIMARY KEY,
            kind text NOT NULL CHECK (kind IN ('eval', 'replay')),
            started_at timestamptz NOT NULL DEFAULT now(),
            finished_at timestamptz,
            status text NOT NULL CHECK (status IN ('running', 'interrupted', 'complete')),
            config jsonb NOT NULL,
            summary jsonb
        );
        CREATE TABLE eval_results (
            run_id text NOT NULL REFERENCES eval_runs (id) ON DELETE CASCADE,
            contestant text NOT NULL,
            set_name text NOT NULL,
            item_id text NOT NULL,
            result jsonb NOT NULL,
            at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (run_id, contestant, set_name, item_id)
        );
        """
    )


def downgrade() -> None:
    op.get_bind().exec_driver_sql("DROP TABLE eval_results; DROP TABLE eval_runs")
