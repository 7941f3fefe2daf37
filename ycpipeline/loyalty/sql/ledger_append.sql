-- The derivation's append (loyalty/ledger.py): for each (record, user) the difference between what the record is
-- owed now (temp table ledger_owed) and what the ledger holds for it (ledger_held), written as an accrual (held
-- nothing), a reversal (owed nothing) or an adjustment; the counts and sums by kind. The users appended for go to
-- appended_users. Bound: rate (for a record never accrued before) and run_id.
WITH wanted AS (
    SELECT coalesce(ow.company_id, h.company_id) AS company_id,
           coalesce(ow.record_id, h.record_id) AS record_id,
           coalesce(ow.user_id, h.user_id) AS user_id,
           coalesce(ow.owed, 0) AS owed, coalesce(h.held, 0) AS held, ow.base, ow.rate
    FROM ledger_owed ow
    FULL JOIN ledger_held h
      ON h.company_id = ow.company_id AND h.record_id = ow.record_id AND h.user_id = ow.user_id
),
entries AS (
    SELECT w.company_id, w.record_id, w.user_id, w.owed - w.held AS amount,
           CASE WHEN w.owed = 0 THEN 'reversal' WHEN w.held = 0 THEN 'accrual' ELSE 'adjustment' END AS kind,
           coalesce(w.base, r.total_cost, 0) AS base_amount,
           coalesce(w.rate, fr.rate, CAST(:rate AS numeric)) AS rate
    FROM wanted w
    LEFT JOIN yclients.records r ON r.company_id = w.company_id AND r.record_id = w.record_id
    LEFT JOIN ledger_rates fr ON fr.company_id = w.company_id AND fr.record_id = w.record_id
    WHERE w.owed <> w.held
),
appended AS (
    INSERT INTO loyalty.bonus_ledger (company_id, record_id, user_id, kind, amount, base_amount, rate, run_id)
    SELECT company_id, record_id, user_id, kind, amount, base_amount, rate, :run_id FROM entries
    ORDER BY company_id, record_id, amount
    RETURNING kind, amount, user_id
),
users AS (INSERT INTO appended_users SELECT DISTINCT user_id FROM appended)
SELECT kind, count(*), coalesce(sum(amount), 0) FROM appended GROUP BY kind
