-- marts.client_lifecycle: one row per company and client with at least one completed visit, for the
-- (company_id, client_id) keys in mart_keys; status as of the company's date in mart_today.
WITH k AS (SELECT DISTINCT company_id, client_id FROM mart_keys),
visits AS (
    SELECT r.company_id, r.client_id,
           min(r.visit_date) FILTER (WHERE $completed) AS first_visit,
           max(r.visit_date) FILTER (WHERE $completed) AS last_visit,
           count(*) FILTER (WHERE $completed) AS visits,
           coalesce(sum(r.total_cost) FILTER (WHERE $completed), 0) AS revenue,
           count(*) FILTER (WHERE r.attendance = -1 AND NOT r.deleted) AS no_shows
    FROM k JOIN yclients.records r ON r.company_id = k.company_id AND r.client_id = k.client_id
    GROUP BY 1, 2
),
paid AS (
    SELECT r.company_id, r.client_id, sum(p.amount) AS paid
    FROM k
    JOIN yclients.records r ON r.company_id = k.company_id AND r.client_id = k.client_id
    JOIN yclients.record_payments p ON p.company_id = r.company_id AND p.record_id = r.record_id
    GROUP BY 1, 2
),
bonus AS (
    SELECT r.company_id, r.client_id, sum(l.amount) AS balance
    FROM k
    JOIN yclients.records r ON r.company_id = k.company_id AND r.client_id = k.client_id
    JOIN loyalty.bonus_ledger l ON l.company_id = r.company_id AND l.record_id = r.record_id
    GROUP BY 1, 2
)
SELECT v.company_id, v.client_id, v.first_visit, v.last_visit, v.visits, v.revenue,
       coalesce(p.paid, 0), v.no_shows, coalesce(b.balance, 0),
       date_trunc('month', v.first_visit)::date,
       t.today, t.today - v.last_visit,
       $status,
       now()
FROM visits v
JOIN mart_today t ON t.company_id = v.company_id
LEFT JOIN paid p ON p.company_id = v.company_id AND p.client_id = v.client_id
LEFT JOIN bonus b ON b.company_id = v.company_id AND b.client_id = v.client_id
WHERE v.visits > 0
