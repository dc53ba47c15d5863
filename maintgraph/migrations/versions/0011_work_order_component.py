"""Work orders keep the component they were done on (``work_orders.component``).

Plant exports write it beside the failure code (``BRG-DE``, ``SEAL-MECH``); a reliability
engineer ranks components by their corrective work ("which component is on the most corrective
work orders?"), which needs it as a column, not as words in the description.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.get_bind().exec_driver_sql("ALTER TABLE work_orders ADD COLUMN component text")


def downgrade() -> None:
    op.get_bind().exec_driver_sql("ALTER TABLE work_orders DROP COLUMN component")
