-- marts.branch_daily: one row per company and visit date, for the (company_id, day) keys in mart_keys.
-- $completed is warehouse/rules.py's completed visit, over the records alias r.
WITH k AS (SELECT DISTINCT company_id, day FROM mart_keys),
visits AS (
    SELECT r.company_id, r.visit_date AS date,
           count(*) AS records,
           count(*) FILTER (WHERE $completed) AS done_visits,
           count(DISTINCT r.client_id) FILTER (WHERE $completed) AS clients_served,
           coalesce(sum(r.total_cost) FILTER (WHERE $completed), 0) AS service_revenue,
           count(*) FILTER (WHERE r.attendance = -1 AND NOT r.deleted) AS no_shows,
           count(*) FILTER (WHERE r.deleted) AS cancellations,
           count(*) FILTER (WHERE r.online AND NOT r.deleted) AS online_visits,
           count(*) FILTER (WHERE NOT r.deleted) AS kept
    FROM k JOIN yclients.records r ON r.company_id = k.company_id AND r.visit_date = k.day
    GROUP BY 1, 2
),
paid AS (
    SELECT r.company_id, r.visit_date AS date,
           sum(p.amount) AS paid_total,
           coalesce(sum(p.amount) FILTER (WHERE a.kind = 'cash'), 0) AS paid_cash,
           coalesce(sum(p.amount) FILTER (WHERE a.kind = 'cashless'), 0) AS paid_cashless,
           coalesce(sum(p.amount) FILTER (WHERE a.kind IS NULL OR a.kind = 'other'), 0) AS paid_other
    FROM k
    JOIN yclients.records r ON r.company_id = k.company_id AND r.visit_date = k.day
    JOIN yclients.record_payments p ON p.company_id = r.company_id AND p.record_id = r.record_id
    LEFT JOIN yclients.payment_accounts a ON a.company_id = p.company_id AND a.account_id = p.account_id
    GROUP BY 1, 2
),
newcomers AS (
    SELECT l.company_id, l.first_visit AS date, count(*) AS new_client_visits
    FROM k JOIN marts.client_lifecycle l ON l.company_id = k.company_id AND l.first_visit = k.day
    GROUP BY 1, 2
),
cash AS (
    SELECT f.company_id, f.made_on AS date,
           coalesce(sum(f.amount) FILTER (WHERE f.amount > 0), 0) AS cash_in,
           coalesce(sum(f.amount) FILTER (WHERE f.amount < 0), 0) AS cash_out
    FROM k JOIN yclients.finance_transactions f ON f.company_id = k.company_id AND f.made_on = k.day
    WHERE f.removed_at IS NULL
    GROUP BY 1, 2
)
SELECT k.company_id, k.day AS date,
       coalesce(v.records, 0), coalesce(v.done_visits, 0), coalesce(v.clients_served, 0),
       coalesce(v.service_revenue, 0),
       coalesce(p.paid_total, 0), coalesce(p.paid_cash, 0), coalesce(p.paid_cashless, 0), coalesce(p.paid_other, 0),
       round(v.service_revenue / nullif(v.done_visits, 0), 2),
       coalesce(v.no_shows, 0), round(v.no_shows::numeric / nullif(v.done_visits + v.no_shows, 0), 4),
       coalesce(v.cancellations, 0), round(v.cancellations::numeric / nullif(v.records, 0), 4),
       coalesce(v.online_visits, 0), round(v.online_visits::numeric / nullif(v.kept, 0), 4),
       coalesce(n.new_client_visits, 0),
       coalesce(c.cash_in, 0), coalesce(c.cash_out, 0),
       now()
FROM k
LEFT JOIN visits v ON v.company_id = k.company_id AND v.date = k.day
LEFT JOIN paid p ON p.company_id = k.company_id AND p.date = k.day
LEFT JOIN newcomers n ON n.company_id = k.company_id AND n.date = k.day
LEFT JOIN cash c ON c.company_id = k.company_id AND c.date = k.day
WHERE v.records IS NOT NULL OR c.date IS NOT NULL
