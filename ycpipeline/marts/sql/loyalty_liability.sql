-- marts.loyalty_liability: one row per company and day from the earliest day in mart_keys (or the first
-- ledger entry, if later) to the company's date in mart_today. A ledger entry belongs to its company's
-- local date. The day rolls forward: opening + accrued − reversed − spent − expired = closing, and closing
-- (= outstanding) is the ledger's sum for the company up to the end of the day. Spends and captures carry
-- the company whose lots they consumed; holds and releases carry none and move nothing.
-- The valued liability is closing × the point value × the expected redemption rate: of the points whose
-- fate is known by the end of the day (spent or expired, since the first entry), the share spent; 1 while
-- none is known (docs/loyalty.md).
WITH bounds AS (SELECT company_id, min(day) AS from_day FROM mart_keys GROUP BY 1),
entries AS (
    SELECT l.company_id, (l.created_at AT TIME ZONE t.zone)::date AS date, l.kind, l.amount
    FROM bounds b
    JOIN mart_today t ON t.company_id = b.company_id
    JOIN loyalty.bonus_ledger l ON l.company_id = b.company_id
),
flows AS (
    SELECT company_id, date, amount,
           CASE WHEN kind IN ('accrual', 'adjustment', 'reversal') AND amount > 0 THEN amount ELSE 0 END AS accrued,
           CASE WHEN kind IN ('accrual', 'adjustment', 'reversal') AND amount < 0 THEN -amount ELSE 0 END AS reversed,
           CASE WHEN kind IN ('spend', 'capture') THEN -amount ELSE 0 END AS spent,
           CASE WHEN kind = 'expiry' THEN -amount ELSE 0 END AS expired
    FROM entries
),
daily AS (
    SELECT company_id, date, sum(accrued) AS accrued, sum(reversed) AS reversed, sum(spent) AS spent,
           sum(expired) AS expired, sum(amount) AS net
    FROM flows GROUP BY 1, 2
),
earlier AS (
    SELECT f.company_id, sum(f.amount) AS outstanding, sum(f.spent) AS spent, sum(f.expired) AS expired
    FROM flows f JOIN bounds b ON b.company_id = f.company_id
    WHERE f.date < b.from_day
    GROUP BY 1
),
first_entry AS (SELECT company_id, min(date) AS first_day FROM entries GROUP BY 1),
days AS (
    SELECT b.company_id, d::date AS date
    FROM bounds b
    JOIN mart_today t ON t.company_id = b.company_id
    JOIN first_entry f ON f.company_id = b.company_id
    CROSS JOIN LATERAL generate_series(greatest(b.from_day, f.first_day), t.today, interval '1 day') d
),
rolled AS (
    SELECT d.company_id, d.date,
           coalesce(y.accrued, 0) AS accrued, coalesce(y.reversed, 0) AS reversed,
           coalesce(y.spent, 0) AS spent, coalesce(y.expired, 0) AS expired,
           coalesce(e.outstanding, 0) + sum(coalesce(y.net, 0)) OVER w AS closing,
           coalesce(e.spent, 0) + sum(coalesce(y.spent, 0)) OVER w AS spent_to_date,
           coalesce(e.expired, 0) + sum(coalesce(y.expired, 0)) OVER w AS expired_to_date,
           coalesce(y.net, 0) AS net
    FROM days d
    LEFT JOIN daily y ON y.company_id = d.company_id AND y.date = d.date
    LEFT JOIN earlier e ON e.company_id = d.company_id
    WINDOW w AS (PARTITION BY d.company_id ORDER BY d.date)
),
valued AS (
    SELECT r.*,
           CASE WHEN spent_to_date + expired_to_date > 0
                THEN round(spent_to_date / (spent_to_date + expired_to_date), 4) ELSE 1 END AS redemption_rate
    FROM rolled r
)
SELECT company_id, date, accrued, reversed, closing, round(closing * $point_value, 2), now(),
       closing - net, spent, expired, closing, redemption_rate,
       round(closing * $point_value * redemption_rate, 2)
FROM valued
