-- The ledger's queue: every statement that inserts or updates yclients.records appends the keys it touched to
-- loyalty.ledger_queue in the same transaction, so a derivation (loyalty/ledger.py) reads only what changed and
-- a record changed by a transaction that commits late is never missed.
--
-- Installed by migration 0003 (which queued with ON CONFLICT DO NOTHING); migration 0006 made the queue
-- append-only and replaced the function's body with the one below. The migrations carry their own copies; a
-- test (ycpipeline_tests/warehouse/test_warehouse_sql.py) checks that the migrated database defines exactly this.
--
-- Append-only: each statement adds its own entries (the queue has no key on them, so no conflict and no lock).
-- A derivation deletes only the entries its snapshot sees, those of committed loads; an entry of a load that
-- commits later is invisible to that DELETE and stays for the next derivation.

CREATE OR REPLACE FUNCTION loyalty.queue_changed_records() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO loyalty.ledger_queue (company_id, record_id)
    SELECT DISTINCT company_id, record_id FROM changed_rows;
    RETURN NULL;
END $$;

-- One trigger per event: a trigger with a transition table serves one event.
CREATE TRIGGER records_insert_queue_for_ledger AFTER INSERT ON yclients.records
REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT
EXECUTE FUNCTION loyalty.queue_changed_records();

CREATE TRIGGER records_update_queue_for_ledger AFTER UPDATE ON yclients.records
REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT
EXECUTE FUNCTION loyalty.queue_changed_records();
