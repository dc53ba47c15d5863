"""API keys of the HTTP service: stored as SHA-256 hashes of their secret, scoped, revocable.

The secret is 32 random bytes shown once at creation; a hash of that much entropy cannot be
reversed or guessed, so a plain SHA-256 (no slow KDF) is enough and keeps each request cheap.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.get_bind().exec_driver_sql(
        """
        CREATE TABLE api_keys (
            id text PRIMARY KEY CHECK (id ~ '^[a-z0-9]{8}$'),
            name text NOT NULL CHECK (name <> ''),
            secret_sha256 text NOT NULL,
            scopes text[] NOT NULL CHECK (cardinality(scopes) > 0),
            rate_per_minute integer CHECK (rate_per_minute > 0),
            created_at timestamptz NOT NULL DEFAULT now(),
            last_used_at timestamptz,
            revoked_at timestamptz
        );
        """
    )


def downgrade() -> None:
    op.get_bind().exec_driver_sql("DROP TABLE api_keys")
