"""Agent traces: one row per turn of a conversation, replayable by the evaluation harness.

A turn records what was asked, the route taken (intent, linked entities, the deterministic
plan, the model's tool choice and the router's verdict on it), every tool call with its
arguments, result and time, the evidence ids, the model and adapter with their versions,
guard decisions, the answer, per-node timings and token counts. JSON columns, because the
shape of a route grows with the agent and a trace must still load years later.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.get_bind().exec_driver_sql(
        """
        CREATE TABLE agent_traces (
            id uuid PRIMARY KEY,
            thread_id text NOT NULL,
            started_at timestamptz NOT NULL,
            seconds double precision NOT NULL,
            status text NOT NULL CHECK (status IN ('answered', 'awaiting_approval', 'failed')),
            question text NOT NULL,
            intent text,
            route jsonb NOT NULL DEFAULT '{}',
            tool_calls jsonb NOT NULL DEFAULT '[]',
            evidence_ids text[] NOT NULL DEFAULT '{}',
            model jsonb NOT NULL DEFAULT '{}',
            guards jsonb NOT NULL DEFAULT '[]',
            answer text,
            cited text[] NOT NULL DEFAULT '{}',
            timings jsonb NOT NULL DEFAULT '{}',
            tokens jsonb NOT NULL DEFAULT '{}'
        );
        CREATE INDEX agent_traces_thread ON agent_traces (thread_id, started_at);
        CREATE INDEX agent_traces_started ON agent_traces (started_at);
        """
    )


def downgrade() -> None:
    op.get_bind().exec_driver_sql("DROP TABLE agent_traces")
