"""CMMS re-imports keep local work; one work order per approved request.

- ``work_order_status_history`` no longer cascades from ``work_orders``: a status history row is a
  local action (or the record of an export's change), and deleting a work order that has one is
  refused rather than silently taking its history with it. Re-imports upsert their work orders
  and never delete one that local actions refer to.
- ``work_orders.imported_status``: the status the export said at the last import. A re-import
  takes the export's status only when the export changed it since; otherwise a local status
  change stands.
- ``work_orders.approved_by``: who approved a submitted work order. The approval reference
  (``approval_ref``, unique) is now the approved request's nonce alone, so a second approval of
  the same request by another person finds the first one's work order. References written as
  ``approved by NAME (NONCE)`` are split into the two columns (where two work orders came from
  one request, the later keeps its old reference).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.get_bind().exec_driver_sql(
        r"""
        ALTER TABLE work_order_status_history DROP CONSTRAINT work_order_status_history_number_fkey,
            ADD CONSTRAINT work_order_status_history_number_fkey FOREIGN KEY (number)
                REFERENCES work_orders (number) ON DELETE RESTRICT;
        CREATE INDEX work_order_status_history_number ON work_order_status_history (number);
        CREATE INDEX reservations_work_order ON reservations (work_order);
        ALTER TABLE work_orders ADD COLUMN imported_status text
            CHECK (imported_status IN ('WAPPR', 'APPR', 'WMATL', 'WSCH', 'INPRG', 'COMP', 'CLOSE', 'CAN'));
        ALTER TABLE work_orders ADD COLUMN approved_by text;
        -- what the export said: the status before the first local change, else the status now
        UPDATE work_orders w SET imported_status = coalesce(
            (SELECT h.from_status FROM work_order_status_history h WHERE h.number = w.number ORDER BY h.id LIMIT 1),
            w.status)
        WHERE w.source <> 'maintgraph';
        WITH legacy AS (
            SELECT number, substring(approval_ref FROM '^approved by (.*) \(([^()]*)\)$') AS approver,
                   substring(approval_ref FROM '\(([^()]*)\)$') AS nonce,
                   row_number() OVER (PARTITION BY substring(approval_ref FROM '\(([^()]*)\)$')
                                      ORDER BY reported_at, number) AS nth
            FROM work_orders WHERE approval_ref ~ '^approved by .* \([^()]*\)$')
        UPDATE work_orders w SET approved_by = l.approver,
            approval_ref = CASE WHEN l.nth = 1 THEN l.nonce ELSE w.approval_ref END
        FROM legacy l WHERE w.number = l.number;
        """
    )


def downgrade() -> None:
    op.get_bind().exec_driver_sql(
        """
        UPDATE work_orders SET approval_ref = 'approved by ' || approved_by || ' (' || approval_ref || ')'
        WHERE approved_by IS NOT NULL AND approval_ref IS NOT NULL AND approval_ref !~ '^approved by ';
        ALTER TABLE work_orders DROP COLUMN approved_by, DROP COLUMN imported_status;
        DROP INDEX reservations_work_order, work_order_status_history_number;
        ALTER TABLE work_order_status_history DROP CONSTRAINT work_order_status_history_number_fkey,
            ADD CONSTRAINT work_order_status_history_number_fkey FOREIGN KEY (number)
                REFERENCES work_orders (number) ON DELETE CASCADE;
        """
    )
