"""Independent recomputations of the marts from the base tables: what the asset checks compare.

Each query counts the mart's keys whose stored values differ from a computation that does not reuse the
mart's SQL (revenue from the service lines, not `records.total_cost`; the liability straight from the
ledger). Keys still queued in `marts.pending` are about to be rebuilt and are left out.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from ycpipeline.warehouse.rules import completed_visit


def branch_daily_mismatches(conn: Connection) -> int:
    """Dates whose completed visits, service revenue (Σ service lines' cost) or paid total (Σ payments)
    differ from the mart, or that the mart lacks or holds in excess."""
    return conn.execute(
        text(f"""
            WITH lines AS (
                SELECT company_id, record_id, sum(cost) AS cost FROM yclients.record_services GROUP BY 1, 2
            ),
            truth AS (
                SELECT r.company_id, r.visit_date AS date, count(*) FILTER (WHERE {completed_visit("r")}) AS done,
                       coalesce(sum(l.cost) FILTER (WHERE {completed_visit("r")}), 0) AS revenue
                FROM yclients.records r LEFT JOIN lines l USING (company_id, record_id)
                GROUP BY 1, 2
            ),
            paid AS (
                SELECT r.company_id, r.visit_date AS date, sum(p.amount) AS paid
                FROM yclients.record_payments p JOIN yclients.records r USING (company_id, record_id)
                GROUP BY 1, 2
            ),
            expected AS (
                SELECT t.company_id, t.date, t.done, t.revenue, coalesce(p.paid, 0) AS paid
                FROM truth t LEFT JOIN paid p USING (company_id, date)
            )
            SELECT count(*) FROM expected e
            FULL JOIN (SELECT * FROM marts.branch_daily WHERE records > 0) m USING (company_id, date)
            WHERE (e.done, e.revenue, e.paid) IS DISTINCT FROM (m.done_visits, m.service_revenue, m.paid_total)
              AND NOT EXISTS (SELECT 1 FROM marts.pending q WHERE q.mart = 'branch_daily'
                              AND q.company_id = coalesce(e.company_id, m.company_id) AND q.day = coalesce(e.date, m.date))
        """)
    ).scalar_one()


def staff_utilization_mismatches(conn: Connection) -> int:
    """Staff days whose scheduled minutes (the schedules) or done minutes (the completed visits) differ."""
    return conn.execute(
        text(f"""
            WITH visits AS (
                SELECT company_id, staff_id, visit_date AS date,
                       round(coalesce(sum(duration_seconds) FILTER (WHERE {completed_visit()}), 0) / 60.0) AS done
                FROM yclients.records WHERE staff_id IS NOT NULL GROUP BY 1, 2, 3
            ),
            expected AS (
                SELECT coalesce(v.company_id, s.company_id) AS company_id, coalesce(v.staff_id, s.staff_id) AS staff_id,
                       coalesce(v.date, s.work_date) AS date, coalesce(s.scheduled_minutes, 0) AS scheduled,
                       coalesce(v.done, 0) AS done
                FROM visits v FULL JOIN yclients.staff_schedules s
                  ON s.company_id = v.company_id AND s.staff_id = v.staff_id AND s.work_date = v.date
            )
            SELECT count(*) FROM expected e
            FULL JOIN marts.staff_utilization_daily m USING (company_id, staff_id, date)
            WHERE (e.scheduled, e.done) IS DISTINCT FROM (m.scheduled_minutes, m.done_minutes)
              AND NOT EXISTS (SELECT 1 FROM marts.pending q WHERE q.mart = 'staff_utilization_daily'
                              AND q.company_id = coalesce(e.company_id, m.company_id) AND q.day = coalesce(e.date, m.date))
        """)
    ).scalar_one()


def occupancy_out_of_bounds(conn: Connection) -> tuple[int, int]:
    """(rows with a negative occupancy, rows booked beyond their schedule: occupancy > 1)."""
    negative, over = conn.execute(
        text("""SELECT count(*) FILTER (WHERE occupancy < 0), count(*) FILTER (WHERE occupancy > 1)
                FROM marts.staff_utilization_daily""")
    ).one()
    return negative, over


def client_lifecycle_mismatches(conn: Connection) -> int:
    """Clients whose completed visits, revenue (Σ service lines' cost) or bonus balance (Σ ledger) differ."""
    return conn.execute(
        text(f"""
            WITH lines AS (
                SELECT company_id, record_id, sum(cost) AS cost FROM yclients.record_services GROUP BY 1, 2
            ),
            bonus AS (SELECT company_id, record_id, sum(amount) AS points FROM loyalty.bonus_ledger GROUP BY 1, 2),
            expected AS (
                SELECT r.company_id, r.client_id, count(*) FILTER (WHERE {completed_visit("r")}) AS visits,
                       coalesce(sum(l.cost) FILTER (WHERE {completed_visit("r")}), 0) AS revenue,
                       coalesce(sum(b.points), 0) AS balance
                FROM yclients.records r
                LEFT JOIN lines l USING (company_id, record_id)
                LEFT JOIN bonus b USING (company_id, record_id)
                WHERE r.client_id IS NOT NULL
                GROUP BY 1, 2 HAVING count(*) FILTER (WHERE {completed_visit("r")}) > 0
            )
            SELECT count(*) FROM expected e
            FULL JOIN marts.client_lifecycle m USING (company_id, client_id)
            WHERE (e.visits, e.revenue, e.balance) IS DISTINCT FROM (m.visits, m.revenue, m.bonus_balance)
              AND NOT EXISTS (SELECT 1 FROM marts.pending q WHERE q.mart = 'client_lifecycle'
                              AND q.company_id = coalesce(e.company_id, m.company_id)
                              AND q.client_id = coalesce(e.client_id, m.client_id))
        """)
    ).scalar_one()


def loyalty_liability_mismatches(conn: Connection) -> int:
    """Companies whose latest outstanding differs from the ledger's sum, or whose accrued minus reversed
    over every day differs from it."""
    return conn.execute(
        text("""
            WITH ledger AS (SELECT company_id, sum(amount) AS total FROM loyalty.bonus_ledger GROUP BY 1),
            latest AS (
                SELECT DISTINCT ON (company_id) company_id, outstanding FROM marts.loyalty_liability
                ORDER BY company_id, date DESC
            ),
            flows AS (SELECT company_id, sum(accrued) - sum(reversed) AS net FROM marts.loyalty_liability GROUP BY 1)
            SELECT count(*) FROM ledger g
            FULL JOIN latest l USING (company_id) FULL JOIN flows f USING (company_id)
            WHERE (coalesce(g.total, 0) <> coalesce(l.outstanding, 0) OR coalesce(g.total, 0) <> coalesce(f.net, 0))
              AND NOT EXISTS (SELECT 1 FROM marts.pending q WHERE q.mart = 'loyalty_liability'
                              AND q.company_id = coalesce(g.company_id, l.company_id, f.company_id))
        """)
    ).scalar_one()
