"""CMMS tables, shaped like the CMMS systems plants run (IBM Maximo is the model).

Assets; failure codes (problem / cause / remedy, with a parent for secondary codes); work
orders with Maximo's types, priorities and status lifecycle, their status history and parts
used; PM plans by time or meter; meters and readings; parts, alternates, stock per storeroom
and reservations. Stock keeps ``reserved`` beside ``quantity_on_hand`` with a CHECK that one
never exceeds the other, so a reservation is one conditional UPDATE: two technicians
reserving the last bearing can never both succeed.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.get_bind().exec_driver_sql(
        """
        CREATE TABLE assets (
            tag text PRIMARY KEY,
            name text NOT NULL,
            class_code text,
            location text,                    -- site / system, as the CMMS names it
            criticality text CHECK (criticality IN ('A', 'B', 'C')),
            status text NOT NULL DEFAULT 'OPERATING'
                CHECK (status IN ('OPERATING', 'NOT READY', 'DECOMMISSIONED')),
            source text NOT NULL              -- which import created it
        );
        CREATE TABLE failure_codes (
            code text PRIMARY KEY,
            kind text NOT NULL CHECK (kind IN ('problem', 'cause', 'remedy')),
            description text NOT NULL,
            parent text REFERENCES failure_codes (code),   -- a secondary code's primary
            category text
        );
        CREATE TABLE work_orders (
            number text PRIMARY KEY,
            asset_tag text NOT NULL REFERENCES assets (tag),
            wo_type text NOT NULL CHECK (wo_type IN ('CM', 'PM', 'EM', 'PdM', 'CAL', 'INSP')),
            priority smallint CHECK (priority BETWEEN 1 AND 5),
            status text NOT NULL CHECK (status IN ('WAPPR', 'APPR', 'WMATL', 'WSCH', 'INPRG', 'COMP', 'CLOSE', 'CAN')),
            problem_code text REFERENCES failure_codes (code),
            cause_code text REFERENCES failure_codes (code),
            remedy_code text REFERENCES failure_codes (code),
            description text NOT NULL,
            long_text text,
            labour_hours numeric(8, 2) CHECK (labour_hours >= 0),
            reported_at timestamptz,
            scheduled_at timestamptz,
            started_at timestamptz,
            finished_at timestamptz,
            approval_ref text,               -- the human approval that let it be submitted
            source text NOT NULL,
            tsv tsvector GENERATED ALWAYS AS
                (to_tsvector('english', description || ' ' || coalesce(long_text, ''))) STORED
        );
        CREATE INDEX work_orders_asset ON work_orders (asset_tag, reported_at);
        CREATE INDEX work_orders_finished ON work_orders (finished_at);
        CREATE INDEX work_orders_problem ON work_orders (problem_code);
        CREATE INDEX work_orders_tsv ON work_orders USING gin (tsv);
        -- one work order per approval: a replayed approval token cannot submit its draft twice
        CREATE UNIQUE INDEX work_orders_approval ON work_orders (approval_ref) WHERE approval_ref IS NOT NULL;
        CREATE TABLE work_order_status_history (
            id bigserial PRIMARY KEY,
            number text NOT NULL REFERENCES work_orders (number) ON DELETE CASCADE,
            from_status text,
            to_status text NOT NULL,
            changed_at timestamptz NOT NULL DEFAULT now(),
            memo text
        );
        CREATE TABLE parts (
            part_number text PRIMARY KEY,
            name text NOT NULL,
            manufacturer text,
            unit text NOT NULL DEFAULT 'EA',
            unit_cost numeric(12, 2) CHECK (unit_cost >= 0)
        );
        CREATE TABLE part_alternates (
            part_number text NOT NULL REFERENCES parts (part_number),
            alternate text NOT NULL REFERENCES parts (part_number),
            PRIMARY KEY (part_number, alternate),
            CHECK (part_number <> alternate)
        );
        CREATE TABLE stock (
            part_number text NOT NULL REFERENCES parts (part_number),
            storeroom text NOT NULL,
            bin text,
            quantity_on_hand numeric(12, 2) NOT NULL CHECK (quantity_on_hand >= 0),
            reserved numeric(12, 2) NOT NULL DEFAULT 0 CHECK (reserved >= 0),
            reorder_point numeric(12, 2) CHECK (reorder_point >= 0),
            PRIMARY KEY (part_number, storeroom),
            CHECK (reserved <= quantity_on_hand)
        );
        CREATE TABLE reservations (
            id bigserial PRIMARY KEY,
            part_number text NOT NULL,
            storeroom text NOT NULL,
            work_order text NOT NULL REFERENCES work_orders (number),
            quantity numeric(12, 2) NOT NULL CHECK (quantity > 0),
            reserved_at timestamptz NOT NULL DEFAULT now(),
            FOREIGN KEY (part_number, storeroom) REFERENCES stock (part_number, storeroom)
        );
        CREATE TABLE work_order_parts (
            number text NOT NULL REFERENCES work_orders (number) ON DELETE CASCADE,
            part_number text NOT NULL,       -- as written in the export; not every part is stocked
            quantity numeric(12, 2) NOT NULL CHECK (quantity > 0)
        );
        CREATE TABLE pm_plans (
            id text PRIMARY KEY,
            asset_tag text NOT NULL REFERENCES assets (tag),
            description text NOT NULL,
            wo_type text NOT NULL DEFAULT 'PM' CHECK (wo_type IN ('PM', 'CAL', 'INSP', 'PdM')),
            interval_days integer CHECK (interval_days > 0),
            meter text,
            interval_meter numeric CHECK (interval_meter > 0),
            last_done_at timestamptz,
            last_done_meter numeric,
            CHECK (interval_days IS NOT NULL OR (meter IS NOT NULL AND interval_meter IS NOT NULL))
        );
        CREATE TABLE meters (
            asset_tag text NOT NULL REFERENCES assets (tag),
            name text NOT NULL,
            unit text NOT NULL,
            PRIMARY KEY (asset_tag, name)
        );
        CREATE TABLE meter_readings (
            asset_tag text NOT NULL,
            name text NOT NULL,
            read_at timestamptz NOT NULL,
            value numeric NOT NULL,
            PRIMARY KEY (asset_tag, name, read_at),
            FOREIGN KEY (asset_tag, name) REFERENCES meters (asset_tag, name)
        );
        CREATE TABLE cmms_events (
            id text PRIMARY KEY,
            event_group text NOT NULL,        -- WORK_ORDER, ALERT, ANOMALY
            category text,
            event_type text,
            description text,
            asset_tag text NOT NULL REFERENCES assets (tag),
            event_time timestamptz NOT NULL,
            source text NOT NULL
        );
        CREATE INDEX cmms_events_asset ON cmms_events (asset_tag, event_time);
        CREATE SEQUENCE work_order_numbers START 1000;
        """
    )


def downgrade() -> None:
    op.get_bind().exec_driver_sql(
        """
        DROP SEQUENCE work_order_numbers;
        DROP TABLE cmms_events, meter_readings, meters, pm_plans, work_order_parts, reservations, stock,
            part_alternates, parts, work_order_status_history, work_orders, failure_codes, assets;
        """
    )
