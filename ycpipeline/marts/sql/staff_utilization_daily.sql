-- marts.staff_utilization_daily: one row per company, staff member and date with a schedule or a record,
-- for the (company_id, day) keys in mart_keys. Booked: records not cancelled (no-shows included: their time
-- was held); done: completed visits ($completed over the records alias r).
WITH k AS (SELECT DISTINCT company_id, day FROM mart_keys),
booked AS (
    SELECT r.company_id, r.staff_id, r.visit_date AS date,
           round(coalesce(sum(r.duration_seconds) FILTER (WHERE NOT r.deleted), 0) / 60.0)::int AS booked_minutes,
           round(coalesce(sum(r.duration_seconds) FILTER (WHERE $completed), 0) / 60.0)::int AS done_minutes,
           coalesce(sum(r.total_cost) FILTER (WHERE $completed), 0) AS revenue
    FROM k JOIN yclients.records r ON r.company_id = k.company_id AND r.visit_date = k.day
    WHERE r.staff_id IS NOT NULL
    GROUP BY 1, 2, 3
),
scheduled AS (
    SELECT s.company_id, s.staff_id, s.work_date AS date, s.scheduled_minutes, s.busy_minutes
    FROM k JOIN yclients.staff_schedules s ON s.company_id = k.company_id AND s.work_date = k.day
)
SELECT coalesce(b.company_id, s.company_id), coalesce(b.staff_id, s.staff_id), coalesce(b.date, s.date),
       coalesce(s.scheduled_minutes, 0), coalesce(b.booked_minutes, 0), coalesce(b.done_minutes, 0),
       round(coalesce(b.booked_minutes, 0)::numeric / nullif(s.scheduled_minutes, 0), 4),
       coalesce(b.revenue, 0),
       round(coalesce(b.revenue, 0) / nullif(s.scheduled_minutes / 60.0, 0), 2),
       s.busy_minutes,
       now()
FROM booked b
FULL JOIN scheduled s ON s.company_id = b.company_id AND s.staff_id = b.staff_id AND s.date = b.date
