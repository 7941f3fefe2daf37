-- marts.loyalty_liability: one row per company and day from the earliest day in mart_keys (or the first
-- ledger entry, if later) to the company's date in mart_today. A ledger entry belongs to its company's
-- local date; outstanding is the ledger's sum up to the end of the day.
WITH bounds AS (SELECT company_id, min(day) AS from_day FROM mart_keys GROUP BY 1),
entries AS (
    SELECT l.company_id, (l.created_at AT TIME ZONE t.zone)::date AS date, l.amount
    FROM bounds b
    JOIN mart_today t ON t.company_id = b.company_id
    JOIN loyalty.bonus_ledger l ON l.company_id = b.company_id
),
daily AS (
    SELECT company_id, date,
           coalesce(sum(amount) FILTER (WHERE amount > 0), 0) AS accrued,
           coalesce(-sum(amount) FILTER (WHERE amount < 0), 0) AS reversed,
           sum(amount) AS net
    FROM entries GROUP BY 1, 2
),
earlier AS (
    SELECT e.company_id, sum(e.amount) AS outstanding, min(e.date) AS first_day
    FROM entries e JOIN bounds b ON b.company_id = e.company_id
    WHERE e.date < b.from_day
    GROUP BY 1
),
first_entry AS (SELECT company_id, min(date) AS first_day FROM entries GROUP BY 1),
days AS (
    SELECT b.company_id, d::date AS date
    FROM bounds b
    JOIN mart_today t ON t.company_id = b.company_id
    JOIN first_entry f ON f.company_id = b.company_id
    CROSS JOIN LATERAL generate_series(greatest(b.from_day, f.first_day), t.today, interval '1 day') AS d
)
SELECT d.company_id, d.date, coalesce(y.accrued, 0), coalesce(y.reversed, 0),
       coalesce(e.outstanding, 0) + sum(coalesce(y.net, 0)) OVER w,
       round((coalesce(e.outstanding, 0) + sum(coalesce(y.net, 0)) OVER w) * $point_value, 2),
       now()
FROM days d
LEFT JOIN daily y ON y.company_id = d.company_id AND y.date = d.date
LEFT JOIN earlier e ON e.company_id = d.company_id
WINDOW w AS (PARTITION BY d.company_id ORDER BY d.date)
