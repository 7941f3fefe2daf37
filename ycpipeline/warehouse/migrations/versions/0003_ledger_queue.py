"""queue of records for the ledger, filled by triggers, and the ledger's state

Revision ID: 0003
Revises: 0002

Every statement that inserts or updates `yclients.records` queues the touched keys in
`loyalty.ledger_queue` in the same transaction, so the derivation reads only what changed and a
record changed by a transaction that commits late is never missed.
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE loyalty.ledger_queue (
            company_id bigint NOT NULL,
            record_id bigint NOT NULL,
            CONSTRAINT pk_ledger_queue PRIMARY KEY (company_id, record_id)
        )""")
    op.execute("""
        CREATE TABLE loyalty.ledger_state (
            id smallint PRIMARY KEY CHECK (id = 1),
            users_fingerprint text NOT NULL,
            derived_at timestamptz NOT NULL DEFAULT now(),
            run_id text
        )""")
    op.execute("""
        CREATE FUNCTION loyalty.queue_changed_records() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO loyalty.ledger_queue (company_id, record_id)
            SELECT DISTINCT company_id, record_id FROM changed_rows
            ON CONFLICT DO NOTHING;
            RETURN NULL;
        END $$""")
    for event in ("INSERT", "UPDATE"):
        op.execute(f"""
            CREATE TRIGGER records_{event.lower()}_queue_for_ledger AFTER {event} ON yclients.records
            REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT
            EXECUTE FUNCTION loyalty.queue_changed_records()""")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS records_insert_queue_for_ledger ON yclients.records")
    op.execute("DROP TRIGGER IF EXISTS records_update_queue_for_ledger ON yclients.records")
    op.execute("DROP FUNCTION IF EXISTS loyalty.queue_changed_records()")
    op.execute("DROP TABLE IF EXISTS loyalty.ledger_state")
    op.execute("DROP TABLE IF EXISTS loyalty.ledger_queue")
