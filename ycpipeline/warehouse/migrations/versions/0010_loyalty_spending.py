"""loyalty past accrual: spending, holds, expiry and the liability's roll-forward

Revision ID: 0010
Revises: 0009

- `loyalty.bonus_ledger` takes the app's movements beside the records' accruals: `spend`, `hold`,
  `capture`, `release` (each with the app's `external_id`) and `expiry` (of a record's lot, named by
  `lot_record_id`: `record_id` stays the records' own, so a record's entries still sum to what it is
  owed). Spends, captures and expiries name the company whose points they consume; holds and releases
  move no points (a hold reserves `hold_amount` until `expires_at`). Record columns are required of
  record entries only.
- `loyalty.bonus_policy`: the expiry rule the pipeline applies (BONUS_EXPIRY_MONTHS,
  BONUS_EXPIRY_NOTICE_DAYS), written by the nightly expiry, read by `loyalty.expiring_points`.
- The wallet's views and functions (a frozen copy of ycpipeline/loyalty/sql/wallet.sql as of this
  revision); `loyalty.bonus_balances` keeps its columns and adds available, held, spent, expired.
- The marts' ledger trigger queues only entries with a company (holds and releases have none).
- `marts.loyalty_liability` adds opening, spent, expired, closing, redemption_rate and liability_roubles;
  every company's rows are queued for a rebuild.
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

RECORD_KINDS = "'accrual', 'reversal', 'adjustment'"
KINDS = f"{RECORD_KINDS}, 'spend', 'hold', 'capture', 'release', 'expiry'"

LEDGER = f"""
ALTER TABLE loyalty.bonus_ledger
    ALTER COLUMN company_id DROP NOT NULL,
    ALTER COLUMN record_id DROP NOT NULL,
    ALTER COLUMN base_amount DROP NOT NULL,
    ALTER COLUMN rate DROP NOT NULL,
    ADD COLUMN external_id TEXT,
    ADD COLUMN hold_amount NUMERIC(12, 2),
    ADD COLUMN expires_at TIMESTAMP WITH TIME ZONE,
    ADD COLUMN lot_record_id BIGINT,
    DROP CONSTRAINT ck_bonus_ledger_kind_known,
    ADD CONSTRAINT ck_bonus_ledger_kind_known CHECK (kind IN ({KINDS})),
    ADD CONSTRAINT ck_bonus_ledger_shape_fits_kind CHECK (
        CASE
            WHEN kind IN ({RECORD_KINDS}) THEN company_id IS NOT NULL AND record_id IS NOT NULL
                AND base_amount IS NOT NULL AND rate IS NOT NULL AND external_id IS NULL
            WHEN kind IN ('spend', 'capture') THEN company_id IS NOT NULL AND record_id IS NULL
                AND external_id IS NOT NULL AND amount < 0
            WHEN kind = 'hold' THEN company_id IS NULL AND record_id IS NULL AND external_id IS NOT NULL
                AND amount = 0 AND hold_amount > 0 AND expires_at IS NOT NULL
            WHEN kind = 'release' THEN company_id IS NULL AND record_id IS NULL AND external_id IS NOT NULL
                AND amount = 0
            WHEN kind = 'expiry' THEN company_id IS NOT NULL AND record_id IS NULL AND external_id IS NULL
                AND amount < 0
        END
        AND (kind = 'hold') = (hold_amount IS NOT NULL) AND (kind = 'hold') = (expires_at IS NOT NULL)
        AND (kind = 'expiry') = (lot_record_id IS NOT NULL)
    );
CREATE UNIQUE INDEX ix_bonus_ledger_external_id_kind_company_id ON loyalty.bonus_ledger (external_id, kind, company_id)
    NULLS NOT DISTINCT WHERE external_id IS NOT NULL;
CREATE TABLE loyalty.bonus_policy (
    id SMALLINT NOT NULL,
    expiry_months INTEGER NOT NULL,
    notice_days INTEGER NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_bonus_policy PRIMARY KEY (id),
    CONSTRAINT ck_bonus_policy_one_row CHECK (id = 1),
    CONSTRAINT ck_bonus_policy_not_negative CHECK (expiry_months >= 0 AND notice_days >= 0)
);
"""

LIABILITY_COLUMNS = [
    ("opening", "NUMERIC(12, 2)", "outstanding at the end of the day before"),
    ("spent", "NUMERIC(12, 2)", "points spent that day (spends and captured holds, ≥ 0)"),
    ("expired", "NUMERIC(12, 2)", "points expired that day (≥ 0)"),
    ("closing", "NUMERIC(12, 2)", "opening + accrued − reversed − spent − expired (= outstanding)"),
    (
        "redemption_rate",
        "NUMERIC(6, 4)",
        "expected share of outstanding points to be spent (docs/loyalty.md)",
    ),
    ("liability_roubles", "NUMERIC(12, 2)", "closing × point value × redemption_rate"),
]

# Entries with a company queue its liability from the day before their UTC date (a local date is within a
# day of it) and, for a record's entries, the record's client; holds and releases move no points.
QUEUE_LEDGER_ENTRIES = """
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
END $$"""

QUEUE_LEDGER_ENTRIES_0009 = """
CREATE OR REPLACE FUNCTION marts.queue_ledger_entries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO marts.pending (mart, company_id, day)
    SELECT DISTINCT 'loyalty_liability', company_id, (created_at AT TIME ZONE 'UTC')::date - 1 FROM new_rows;
    INSERT INTO marts.pending (mart, company_id, client_id)
    SELECT DISTINCT 'client_lifecycle', r.company_id, r.client_id
    FROM (SELECT DISTINCT company_id, record_id FROM new_rows) l
    JOIN yclients.records r ON r.company_id = l.company_id AND r.record_id = l.record_id
    WHERE r.client_id IS NOT NULL;
    END IF;
    RETURN NULL;
END $$"""

BONUS_BALANCES_0001 = """
CREATE VIEW loyalty.bonus_balances AS
SELECT user_id,
       sum(amount) AS balance,
       sum(amount) FILTER (WHERE amount > 0) AS accrued_total,
       coalesce(-sum(amount) FILTER (WHERE amount < 0), 0) AS reversed_total,
       max(created_at) AS last_entry_at
FROM loyalty.bonus_ledger
GROUP BY user_id
"""

WALLET_FUNCTIONS = [
    "lock_bonus_operation(text)",
    "lock_bonus_user(bigint)",
    "check_bonus_call(text)",
    "check_bonus_request(bigint, numeric, text)",
    "held_points(bigint)",
    "release_expired_holds(bigint)",
    "take_points(bigint, numeric, text, text, numeric)",
    "earlier_operation(text, text, bigint, numeric)",
    "spend_points(bigint, numeric, text)",
    "hold_points(bigint, numeric, text, timestamptz)",
    "locked_hold(text)",
    "capture_hold(text)",
    "release_hold(text)",
]
WALLET_VIEWS = ["expiring_points", "bonus_balances", "bonus_lots", "bonus_holds"]


def upgrade() -> None:
    op.execute(LEDGER)
    op.execute(WALLET)
    op.execute(QUEUE_LEDGER_ENTRIES)
    for name, sql_type, comment in LIABILITY_COLUMNS:
        op.execute(f"ALTER TABLE marts.loyalty_liability ADD COLUMN {name} {sql_type} NOT NULL DEFAULT 0")
        op.execute(f"ALTER TABLE marts.loyalty_liability ALTER COLUMN {name} DROP DEFAULT")
        op.execute(f"COMMENT ON COLUMN marts.loyalty_liability.{name} IS '{comment}'")
    op.execute(
        "COMMENT ON COLUMN marts.loyalty_liability.accrued IS 'points accrued that day (positive record entries)'"
    )
    op.execute(
        "COMMENT ON COLUMN marts.loyalty_liability.reversed IS "
        "'points taken back that day (negative record entries, ≥ 0)'"
    )
    op.execute("""
        INSERT INTO marts.pending (mart, company_id, day)
        SELECT 'loyalty_liability', company_id, min(created_at AT TIME ZONE 'UTC')::date - 1
        FROM loyalty.bonus_ledger WHERE company_id IS NOT NULL GROUP BY company_id""")


def downgrade() -> None:
    op.execute(f"""
        DO $$ BEGIN
            IF EXISTS (SELECT 1 FROM loyalty.bonus_ledger WHERE kind NOT IN ({RECORD_KINDS})) THEN
                RAISE EXCEPTION 'the ledger holds spends, holds or expiries, which revision 0009 cannot store';
            END IF;
        END $$""")
    for name, _, _ in reversed(LIABILITY_COLUMNS):
        op.execute(f"ALTER TABLE marts.loyalty_liability DROP COLUMN {name}")
    op.execute(
        "COMMENT ON COLUMN marts.loyalty_liability.accrued IS 'points added that day (positive entries)'"
    )
    op.execute(
        "COMMENT ON COLUMN marts.loyalty_liability.reversed IS 'points taken back that day (negative entries, ≥ 0)'"
    )
    op.execute(QUEUE_LEDGER_ENTRIES_0009)
    for function in reversed(WALLET_FUNCTIONS):
        op.execute(f"DROP FUNCTION loyalty.{function}")
    for view in WALLET_VIEWS:
        op.execute(f"DROP VIEW loyalty.{view}")
    op.execute(BONUS_BALANCES_0001)
    op.execute("DROP TABLE loyalty.bonus_policy")
    op.execute("DROP INDEX loyalty.ix_bonus_ledger_external_id_kind_company_id")
    op.execute(f"""
        ALTER TABLE loyalty.bonus_ledger
            DROP CONSTRAINT ck_bonus_ledger_shape_fits_kind,
            DROP CONSTRAINT ck_bonus_ledger_kind_known,
            ADD CONSTRAINT ck_bonus_ledger_kind_known CHECK (kind IN ({RECORD_KINDS})),
            DROP COLUMN lot_record_id,
            DROP COLUMN expires_at,
            DROP COLUMN hold_amount,
            DROP COLUMN external_id,
            ALTER COLUMN rate SET NOT NULL,
            ALTER COLUMN base_amount SET NOT NULL,
            ALTER COLUMN record_id SET NOT NULL,
            ALTER COLUMN company_id SET NOT NULL""")


# A frozen copy of ycpipeline/loyalty/sql/wallet.sql (ycpipeline_tests/loyalty/test_wallet_sql.py compares them).
WALLET = r"""
-- The bonus wallet: the views and functions the app calls to read balances and to spend, hold, capture and
-- release points (docs/loyalty.md). Migration 0010 carries a frozen copy of this file; a test checks that the
-- migrated database defines exactly these views and functions.
--
-- Entries are only ever appended. A spend or a capture is written as one entry per company whose points it
-- consumes (oldest lots first), so every point that leaves the balance leaves a company's liability.
-- Functions that change a balance take an advisory lock on the operation's external id, then on the user,
-- and read after taking them: two spends of one user take turns and neither can overdraw.

-- Holds and what became of them: captured, released, expired (past expires_at, not captured: released as
-- far as every balance is concerned, written as a release entry by the next call or the nightly expiry),
-- or open.
CREATE OR REPLACE VIEW loyalty.bonus_holds AS
SELECT h.entry_id, h.user_id, h.external_id, h.hold_amount AS amount, h.expires_at, h.created_at,
       CASE WHEN f.kind = 'capture' THEN 'captured'
            WHEN f.kind = 'release' THEN 'released'
            WHEN h.expires_at <= now() THEN 'expired'
            ELSE 'open' END AS state,
       f.created_at AS closed_at
FROM loyalty.bonus_ledger h
LEFT JOIN LATERAL (
    SELECT c.kind, c.created_at FROM loyalty.bonus_ledger c
    WHERE c.external_id = h.external_id AND c.kind IN ('capture', 'release')
    ORDER BY c.entry_id LIMIT 1
) f ON true
WHERE h.kind = 'hold';

-- Lots: what each record accrued to its user (the net of its accrual, adjustments and reversal), earned on
-- the visit's date (the entry's UTC date if the record is gone). Spending, captures and expiry consume a
-- user's lots oldest first: `remaining` is what is left of a lot, `free` what is left beyond the open holds
-- (which reserve the oldest points). A lot expires BONUS_EXPIRY_MONTHS after the day it was earned (never
-- when 0).
CREATE OR REPLACE VIEW loyalty.bonus_lots AS
SELECT p.user_id, p.company_id, p.record_id, p.first_entry_id, p.earned_on,
       CASE WHEN coalesce(pol.expiry_months, 0) > 0
            THEN (p.earned_on + make_interval(months => pol.expiry_months))::date
       END AS expires_on,
       p.points,
       greatest(0, least(p.points, p.through - coalesce(u.used, 0))) AS remaining,
       greatest(0, least(p.points, p.through - coalesce(u.used, 0) - coalesce(h.held, 0))) AS free
FROM (
    SELECT d.*, sum(d.points) OVER (PARTITION BY d.user_id ORDER BY d.earned_on, d.first_entry_id) AS through
    FROM (
        SELECT g.user_id, g.company_id, g.record_id, g.first_entry_id, g.points,
               coalesce(r.visit_date, (g.first_at AT TIME ZONE 'UTC')::date) AS earned_on
        FROM (
            SELECT user_id, company_id, record_id, min(entry_id) AS first_entry_id, min(created_at) AS first_at,
                   sum(amount) AS points
            FROM loyalty.bonus_ledger WHERE kind IN ('accrual', 'adjustment', 'reversal')
            GROUP BY user_id, company_id, record_id HAVING sum(amount) > 0
        ) g
        LEFT JOIN yclients.records r ON r.company_id = g.company_id AND r.record_id = g.record_id
    ) d
) p
LEFT JOIN (
    SELECT user_id, -sum(amount) AS used FROM loyalty.bonus_ledger
    WHERE kind IN ('spend', 'capture', 'expiry') GROUP BY user_id
) u ON u.user_id = p.user_id
LEFT JOIN (
    SELECT user_id, sum(amount) AS held FROM loyalty.bonus_holds WHERE state = 'open' GROUP BY user_id
) h ON h.user_id = p.user_id
LEFT JOIN loyalty.bonus_policy pol ON pol.id = 1;

-- Per user: the balance is the sum of the entries; available is the balance less the open holds.
CREATE OR REPLACE VIEW loyalty.bonus_balances AS
SELECT l.user_id,
       sum(l.amount) AS balance,
       sum(l.amount) FILTER (WHERE l.amount > 0 AND l.kind IN ('accrual', 'adjustment', 'reversal'))
           AS accrued_total,
       coalesce(-sum(l.amount) FILTER (WHERE l.amount < 0 AND l.kind IN ('accrual', 'adjustment', 'reversal')), 0)
           AS reversed_total,
       max(l.created_at) AS last_entry_at,
       (sum(l.amount) - coalesce(h.held, 0))::numeric(12, 2) AS available,
       coalesce(h.held, 0)::numeric(12, 2) AS held,
       coalesce(-sum(l.amount) FILTER (WHERE l.kind IN ('spend', 'capture')), 0)::numeric(12, 2) AS spent,
       coalesce(-sum(l.amount) FILTER (WHERE l.kind = 'expiry'), 0)::numeric(12, 2) AS expired
FROM loyalty.bonus_ledger l
LEFT JOIN (
    SELECT user_id, sum(amount) AS held FROM loyalty.bonus_holds WHERE state = 'open' GROUP BY user_id
) h ON h.user_id = l.user_id
GROUP BY l.user_id, h.held;

-- For the app's reminders: the points of each user that expire within BONUS_EXPIRY_NOTICE_DAYS (UTC dates),
-- beyond what open holds reserve; empty while points never expire.
CREATE OR REPLACE VIEW loyalty.expiring_points AS
SELECT l.user_id, sum(l.free) AS amount, l.expires_on
FROM loyalty.bonus_lots l
JOIN loyalty.bonus_policy p ON p.id = 1
WHERE l.expires_on IS NOT NULL AND l.free > 0
  AND l.expires_on <= (now() AT TIME ZONE 'UTC')::date + p.notice_days
GROUP BY l.user_id, l.expires_on;

CREATE OR REPLACE FUNCTION loyalty.lock_bonus_operation(p_external_id text) RETURNS void
LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock(hashtext('loyalty.bonus_operation'), hashtext(p_external_id))
$$;

CREATE OR REPLACE FUNCTION loyalty.lock_bonus_user(p_user_id bigint) RETURNS void
LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock(hashtext('loyalty.bonus_user'), hashtext(p_user_id::text))
$$;

-- What every call shares: an external id, and the isolation the locks rely on.
CREATE OR REPLACE FUNCTION loyalty.check_bonus_call(p_external_id text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        -- A snapshot older than the lock would not see the spend that just committed.
        RAISE EXCEPTION 'bonus operations need READ COMMITTED, not %', current_setting('transaction_isolation')
            USING ERRCODE = '25001';
    END IF;
    IF p_external_id IS NULL OR btrim(p_external_id) = '' THEN
        RAISE EXCEPTION 'external_id is required' USING ERRCODE = '22023';
    END IF;
END $$;

-- The arguments of a spend or a hold.
CREATE OR REPLACE FUNCTION loyalty.check_bonus_request(p_user_id bigint, p_amount numeric, p_external_id text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM loyalty.check_bonus_call(p_external_id);
    IF p_user_id IS NULL THEN
        RAISE EXCEPTION 'user_id is required' USING ERRCODE = '22023';
    END IF;
    -- NaN and Infinity sort above every number: the upper bound (numeric(12,2)'s) refuses them too.
    IF p_amount IS NULL OR p_amount <= 0 OR p_amount >= 10000000000 OR p_amount <> round(p_amount, 2) THEN
        RAISE EXCEPTION 'amount must be positive, below 10000000000, with at most 2 decimals, got %', p_amount
            USING ERRCODE = '22023';
    END IF;
END $$;

-- Points of the user's open holds (the caller holds the user's lock and has released expired holds).
CREATE OR REPLACE FUNCTION loyalty.held_points(p_user_id bigint) RETURNS numeric
LANGUAGE sql AS $$
    SELECT coalesce(sum(amount), 0) FROM loyalty.bonus_holds WHERE user_id = p_user_id AND state = 'open'
$$;

-- Write a release entry for each of the user's holds past its expires_at that is neither captured nor
-- released; the number written. The caller holds the user's lock.
CREATE OR REPLACE FUNCTION loyalty.release_expired_holds(p_user_id bigint) RETURNS integer
LANGUAGE sql AS $$
    WITH released AS (
        INSERT INTO loyalty.bonus_ledger (user_id, kind, amount, external_id)
        SELECT user_id, 'release', 0, external_id FROM loyalty.bonus_holds
        WHERE user_id = p_user_id AND state IN ('open', 'expired') AND expires_at <= clock_timestamp()
        ORDER BY entry_id
        RETURNING entry_id
    )
    SELECT count(*)::integer FROM released
$$;

-- Take `p_amount` points from the user's lots, oldest first, past the first `p_skip` points beyond what is
-- already consumed (those the open holds reserve), as one entry of `p_kind` per company; the first entry's id.
CREATE OR REPLACE FUNCTION loyalty.take_points(
    p_user_id bigint, p_amount numeric, p_kind text, p_external_id text, p_skip numeric
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_entry_id bigint;
    v_taken numeric;
BEGIN
    WITH placed AS (
        SELECT company_id, remaining,
               sum(remaining) OVER (ORDER BY earned_on, first_entry_id) - remaining AS before
        FROM loyalty.bonus_lots WHERE user_id = p_user_id AND remaining > 0
    ),
    lines AS (
        SELECT company_id,
               sum(greatest(0, least(before + remaining, p_skip + p_amount) - greatest(before, p_skip))) AS points
        FROM placed GROUP BY company_id
    ),
    written AS (
        INSERT INTO loyalty.bonus_ledger (company_id, user_id, kind, amount, external_id)
        SELECT company_id, p_user_id, p_kind, -points, p_external_id FROM lines WHERE points > 0
        ORDER BY company_id
        RETURNING entry_id, amount
    )
    SELECT min(entry_id), coalesce(-sum(amount), 0) INTO v_entry_id, v_taken FROM written;
    IF v_taken <> p_amount THEN
        RAISE EXCEPTION 'insufficient points: user % has % of % points left in their lots', p_user_id, v_taken, p_amount
            USING ERRCODE = 'LY001';
    END IF;
    RETURN v_entry_id;
END $$;

-- An earlier operation under this external id: its first entry's id when it is the same request (a retry),
-- NULL when there is none, an error when the id names another request.
CREATE OR REPLACE FUNCTION loyalty.earlier_operation(
    p_external_id text, p_kind text, p_user_id bigint, p_amount numeric
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_earlier record;
BEGIN
    SELECT kind, user_id, min(entry_id) AS entry_id, coalesce(sum(hold_amount), -sum(amount)) AS amount
    INTO v_earlier
    FROM loyalty.bonus_ledger WHERE external_id = p_external_id AND kind IN ('spend', 'hold')
    GROUP BY kind, user_id;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF (v_earlier.kind, v_earlier.user_id, v_earlier.amount) IS DISTINCT FROM (p_kind, p_user_id, p_amount) THEN
        RAISE EXCEPTION 'external_id % already names a % of % points for user %',
            p_external_id, v_earlier.kind, v_earlier.amount, v_earlier.user_id USING ERRCODE = 'LY002';
    END IF;
    RETURN v_earlier.entry_id;
END $$;

-- Spend points now; the id of the (first) spend entry. The same external_id again returns the same id
-- and spends nothing more.
CREATE OR REPLACE FUNCTION loyalty.spend_points(p_user_id bigint, p_amount numeric, p_external_id text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_entry_id bigint;
    v_held numeric;
    v_balance numeric;
BEGIN
    PERFORM loyalty.check_bonus_request(p_user_id, p_amount, p_external_id);
    PERFORM loyalty.lock_bonus_operation(p_external_id);
    PERFORM loyalty.lock_bonus_user(p_user_id);
    v_entry_id := loyalty.earlier_operation(p_external_id, 'spend', p_user_id, p_amount);
    IF v_entry_id IS NOT NULL THEN
        RETURN v_entry_id;
    END IF;
    PERFORM loyalty.release_expired_holds(p_user_id);
    v_held := loyalty.held_points(p_user_id);
    SELECT coalesce(sum(amount), 0) INTO v_balance FROM loyalty.bonus_ledger WHERE user_id = p_user_id;
    IF p_amount > v_balance - v_held THEN
        RAISE EXCEPTION 'insufficient points: user % has % available, % asked', p_user_id,
            greatest(v_balance - v_held, 0), p_amount USING ERRCODE = 'LY001';
    END IF;
    RETURN loyalty.take_points(p_user_id, p_amount, 'spend', p_external_id, v_held);
END $$;

-- Reserve points until `p_expires_at` (a checkout): the hold entry's id. The same external_id again returns
-- the same id.
CREATE OR REPLACE FUNCTION loyalty.hold_points(
    p_user_id bigint, p_amount numeric, p_external_id text, p_expires_at timestamptz
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_entry_id bigint;
    v_available numeric;
BEGIN
    PERFORM loyalty.check_bonus_request(p_user_id, p_amount, p_external_id);
    PERFORM loyalty.lock_bonus_operation(p_external_id);
    PERFORM loyalty.lock_bonus_user(p_user_id);
    v_entry_id := loyalty.earlier_operation(p_external_id, 'hold', p_user_id, p_amount);
    IF v_entry_id IS NOT NULL THEN
        RETURN v_entry_id;
    END IF;
    IF p_expires_at IS NULL OR p_expires_at <= clock_timestamp() OR p_expires_at = 'infinity' THEN
        RAISE EXCEPTION 'expires_at must be a moment in the future, got %', p_expires_at USING ERRCODE = '22023';
    END IF;
    PERFORM loyalty.release_expired_holds(p_user_id);
    SELECT coalesce(sum(amount), 0) - loyalty.held_points(p_user_id) INTO v_available
    FROM loyalty.bonus_ledger WHERE user_id = p_user_id;
    IF p_amount > v_available THEN
        RAISE EXCEPTION 'insufficient points: user % has % available, % asked', p_user_id,
            greatest(v_available, 0), p_amount USING ERRCODE = 'LY001';
    END IF;
    INSERT INTO loyalty.bonus_ledger (user_id, kind, amount, hold_amount, expires_at, external_id)
    VALUES (p_user_id, 'hold', 0, p_amount, p_expires_at, p_external_id)
    RETURNING entry_id INTO v_entry_id;
    RETURN v_entry_id;
END $$;

-- The hold of an external id, its user locked and its expiry written if it is past; errors when there is none.
CREATE OR REPLACE FUNCTION loyalty.locked_hold(p_external_id text) RETURNS loyalty.bonus_holds
LANGUAGE plpgsql AS $$
DECLARE
    v_hold loyalty.bonus_holds;
BEGIN
    PERFORM loyalty.check_bonus_call(p_external_id);
    PERFORM loyalty.lock_bonus_operation(p_external_id);
    SELECT * INTO v_hold FROM loyalty.bonus_holds WHERE external_id = p_external_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no hold has external_id %', p_external_id USING ERRCODE = 'LY003';
    END IF;
    PERFORM loyalty.lock_bonus_user(v_hold.user_id);
    PERFORM loyalty.release_expired_holds(v_hold.user_id);
    SELECT * INTO v_hold FROM loyalty.bonus_holds WHERE external_id = p_external_id;
    RETURN v_hold;
END $$;

-- Spend what a hold reserved: the id of the (first) capture entry; the same id again after a retry. A hold
-- that was released or expired cannot be captured.
CREATE OR REPLACE FUNCTION loyalty.capture_hold(p_external_id text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_hold loyalty.bonus_holds;
BEGIN
    v_hold := loyalty.locked_hold(p_external_id);
    IF v_hold.state = 'captured' THEN
        RETURN (SELECT min(entry_id) FROM loyalty.bonus_ledger WHERE external_id = p_external_id AND kind = 'capture');
    END IF;
    IF v_hold.state <> 'open' THEN
        RAISE EXCEPTION 'hold % was released at %, it cannot be captured', p_external_id, v_hold.closed_at
            USING ERRCODE = 'LY004';
    END IF;
    RETURN loyalty.take_points(
        v_hold.user_id, v_hold.amount, 'capture', p_external_id,
        loyalty.held_points(v_hold.user_id) - v_hold.amount
    );
END $$;

-- Give back what a hold reserved: the release entry's id (the same id again after a retry, or when the
-- hold had expired). A captured hold cannot be released.
CREATE OR REPLACE FUNCTION loyalty.release_hold(p_external_id text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_hold loyalty.bonus_holds;
    v_entry_id bigint;
BEGIN
    v_hold := loyalty.locked_hold(p_external_id);
    IF v_hold.state = 'captured' THEN
        RAISE EXCEPTION 'hold % was captured at %, it cannot be released', p_external_id, v_hold.closed_at
            USING ERRCODE = 'LY004';
    END IF;
    IF v_hold.state = 'released' THEN
        RETURN (SELECT min(entry_id) FROM loyalty.bonus_ledger WHERE external_id = p_external_id AND kind = 'release');
    END IF;
    INSERT INTO loyalty.bonus_ledger (user_id, kind, amount, external_id)
    VALUES (v_hold.user_id, 'release', 0, p_external_id)
    RETURNING entry_id INTO v_entry_id;
    RETURN v_entry_id;
END $$;
"""
