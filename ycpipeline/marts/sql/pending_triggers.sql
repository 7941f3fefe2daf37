-- The marts' queue: statement-level triggers on every table a mart reads append the keys whose mart rows must
-- be rebuilt (company and date, or company and client) to marts.pending, in the same transaction as the change.
-- A refresh (marts/refresh.py) rebuilds what changed, whichever run (tick, reconciliation, webhook, CLI) changed
-- it, and a change committed late is never missed.
--
-- Installed by migration 0009; migration 0010 replaced queue_ledger_entries (only entries with a company, since
-- holds and releases have none). The migrations carry their own copies; a test
-- (ycpipeline_tests/warehouse/test_warehouse_sql.py) checks that the migrated database defines exactly this.
--
-- A trigger with transition tables serves one event, so each table has one trigger per event; UPDATE sees both
-- the old rows (the keys they left) and the new ones (the keys they moved to). plpgsql plans a statement when
-- it first runs it: the branch naming old_rows never runs for an INSERT, nor the one naming new_rows for a
-- DELETE.

-- Records: their day in branch_daily and staff_utilization_daily, their client in client_lifecycle.
CREATE OR REPLACE FUNCTION marts.queue_record_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO marts.pending (mart, company_id, day, client_id)
        SELECT DISTINCT m.mart, r.company_id, r.visit_date, NULL::bigint
        FROM new_rows r CROSS JOIN (VALUES ('branch_daily'), ('staff_utilization_daily')) AS m (mart)
        UNION ALL
        SELECT DISTINCT 'client_lifecycle', company_id, NULL::date, client_id FROM new_rows WHERE client_id IS NOT NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO marts.pending (mart, company_id, day, client_id)
        SELECT DISTINCT m.mart, r.company_id, r.visit_date, NULL::bigint
        FROM old_rows r CROSS JOIN (VALUES ('branch_daily'), ('staff_utilization_daily')) AS m (mart)
        UNION ALL
        SELECT DISTINCT 'client_lifecycle', company_id, NULL::date, client_id FROM old_rows WHERE client_id IS NOT NULL;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER queue_record_changes_insert AFTER INSERT ON yclients.records
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION marts.queue_record_changes();

CREATE TRIGGER queue_record_changes_update AFTER UPDATE ON yclients.records
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
EXECUTE FUNCTION marts.queue_record_changes();

CREATE TRIGGER queue_record_changes_delete AFTER DELETE ON yclients.records
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION marts.queue_record_changes();

-- A record's payments: the record's visit day in branch_daily, its client in client_lifecycle.
CREATE OR REPLACE FUNCTION marts.queue_payment_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO marts.pending (mart, company_id, day, client_id)
        SELECT DISTINCT m.mart, r.company_id,
               CASE WHEN m.mart = 'branch_daily' THEN r.visit_date END,
               CASE WHEN m.mart = 'client_lifecycle' THEN r.client_id END
        FROM (SELECT DISTINCT company_id, record_id FROM new_rows) p
        JOIN yclients.records r ON r.company_id = p.company_id AND r.record_id = p.record_id
        CROSS JOIN (VALUES ('branch_daily'), ('client_lifecycle')) AS m (mart)
        WHERE m.mart = 'branch_daily' OR r.client_id IS NOT NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO marts.pending (mart, company_id, day, client_id)
        SELECT DISTINCT m.mart, r.company_id,
               CASE WHEN m.mart = 'branch_daily' THEN r.visit_date END,
               CASE WHEN m.mart = 'client_lifecycle' THEN r.client_id END
        FROM (SELECT DISTINCT company_id, record_id FROM old_rows) p
        JOIN yclients.records r ON r.company_id = p.company_id AND r.record_id = p.record_id
        CROSS JOIN (VALUES ('branch_daily'), ('client_lifecycle')) AS m (mart)
        WHERE m.mart = 'branch_daily' OR r.client_id IS NOT NULL;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER queue_payment_changes_insert AFTER INSERT ON yclients.record_payments
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION marts.queue_payment_changes();

CREATE TRIGGER queue_payment_changes_update AFTER UPDATE ON yclients.record_payments
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
EXECUTE FUNCTION marts.queue_payment_changes();

CREATE TRIGGER queue_payment_changes_delete AFTER DELETE ON yclients.record_payments
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION marts.queue_payment_changes();

-- The cash ledger: its day in branch_daily (cash in and out).
CREATE OR REPLACE FUNCTION marts.queue_cash_ledger_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO marts.pending (mart, company_id, day)
        SELECT DISTINCT 'branch_daily', company_id, made_on FROM new_rows;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO marts.pending (mart, company_id, day)
        SELECT DISTINCT 'branch_daily', company_id, made_on FROM old_rows;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER queue_cash_ledger_changes_insert AFTER INSERT ON yclients.finance_transactions
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION marts.queue_cash_ledger_changes();

CREATE TRIGGER queue_cash_ledger_changes_update AFTER UPDATE ON yclients.finance_transactions
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
EXECUTE FUNCTION marts.queue_cash_ledger_changes();

CREATE TRIGGER queue_cash_ledger_changes_delete AFTER DELETE ON yclients.finance_transactions
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION marts.queue_cash_ledger_changes();

-- Staff schedules: the work day in staff_utilization_daily.
CREATE OR REPLACE FUNCTION marts.queue_schedule_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO marts.pending (mart, company_id, day)
        SELECT DISTINCT 'staff_utilization_daily', company_id, work_date FROM new_rows;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO marts.pending (mart, company_id, day)
        SELECT DISTINCT 'staff_utilization_daily', company_id, work_date FROM old_rows;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER queue_schedule_changes_insert AFTER INSERT ON yclients.staff_schedules
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION marts.queue_schedule_changes();

CREATE TRIGGER queue_schedule_changes_update AFTER UPDATE ON yclients.staff_schedules
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
EXECUTE FUNCTION marts.queue_schedule_changes();

CREATE TRIGGER queue_schedule_changes_delete AFTER DELETE ON yclients.staff_schedules
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION marts.queue_schedule_changes();

-- The bonus ledger (appended to only, so INSERT alone): entries with a company queue its liability from the
-- day before their UTC date (a local date is within a day of it) and, for a record's entries, the record's
-- client; holds and releases have no company and move no points.
CREATE OR REPLACE FUNCTION marts.queue_ledger_entries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO marts.pending (mart, company_id, day)
    SELECT DISTINCT 'loyalty_liability', company_id, (created_at AT TIME ZONE 'UTC')::date - 1 FROM new_rows
    WHERE company_id IS NOT NULL;
    INSERT INTO marts.pending (mart, company_id, client_id)
    SELECT DISTINCT 'client_lifecycle', r.company_id, r.client_id
    FROM (SELECT DISTINCT company_id, record_id FROM new_rows WHERE record_id IS NOT NULL) l
    JOIN yclients.records r ON r.company_id = l.company_id AND r.record_id = l.record_id
    WHERE r.client_id IS NOT NULL;
    RETURN NULL;
END $$;

CREATE TRIGGER queue_ledger_entries_insert AFTER INSERT ON loyalty.bonus_ledger
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION marts.queue_ledger_entries();
