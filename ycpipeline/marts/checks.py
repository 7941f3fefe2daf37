"""Independent recomputations of the marts from the base tables: what the asset checks compare.

Each query counts the mart's keys whose stored values differ from a computation that does not reuse the
mart's SQL (revenue from the service lines, not `records.total_cost`; the liability straight from the
ledger). Keys still queued in `marts.pending` are about to be rebuilt and are left out.

With a `Scope`, a check compares only what one refresh rebuilt (its companies and dates, or clients): what a
30-minute tick pays stays small on a large warehouse; the nightly job and full rebuilds compare everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, text

from ycpipeline.warehouse.rules import completed_visit


@dataclass(frozen=True)
class Scope:
    """What one refresh rebuilt: its companies, its date span (day-keyed marts) or its clients."""

    companies: list[int]
    first_day: date | None = None
    last_day: date | None = None
    clients: list[int] | None = None

    def days(self, company: str, day: str) -> str:
        """SQL limiting `company`/`day` columns to the scope (TRUE without one)."""
        return f"({company} = ANY(:companies) AND {day} BETWEEN :first_day AND :last_day)"

    def params(self) -> dict[str, object]:
        """The bind values of `days` and `of_clients`."""
        return {
            "companies": self.companies,
            "first_day": self.first_day,
            "last_day": self.last_day,
            "clients": self.clients or [],
        }


def _limits(scope: Scope | None, company: str, column: str, *, clients: bool = False) -> str:
    if scope is None:
        return "TRUE"
    if clients:
        return f"({company} = ANY(:companies) AND {column} = ANY(:clients))"
    return scope.days(company, column)


def _of_records(scope: Scope | None, records: str) -> str:
    """Rows of a per-record table (alias s) whose record lies in the scope (`records` over alias r)."""
    if scope is None:
        return "TRUE"
    return f"""EXISTS (SELECT 1 FROM yclients.records r
                       WHERE r.company_id = s.company_id AND r.record_id = s.record_id AND {records})"""


def _nothing_rebuilt(scope: Scope | None) -> bool:
    return scope is not None and not scope.companies


def branch_daily_mismatches(conn: Connection, scope: Scope | None = None) -> int:
    """Dates whose completed visits, service revenue (Σ service lines' cost) or paid total (Σ payments)
    differ from the mart, or that the mart lacks or holds in excess."""
    if _nothing_rebuilt(scope):
        return 0
    records, mart = _limits(scope, "r.company_id", "r.visit_date"), _limits(scope, "company_id", "date")
    return conn.execute(
        text(f"""
            WITH lines AS (
                SELECT company_id, record_id, sum(cost) AS cost FROM yclients.record_services s
                WHERE {_of_records(scope, records)} GROUP BY 1, 2
            ),
            truth AS (
                SELECT r.company_id, r.visit_date AS date, count(*) FILTER (WHERE {completed_visit("r")}) AS done,
                       coalesce(sum(l.cost) FILTER (WHERE {completed_visit("r")}), 0) AS revenue
                FROM yclients.records r LEFT JOIN lines l USING (company_id, record_id)
                WHERE {records}
                GROUP BY 1, 2
            ),
            paid AS (
                SELECT r.company_id, r.visit_date AS date, sum(p.amount) AS paid
                FROM yclients.record_payments p JOIN yclients.records r USING (company_id, record_id)
                WHERE {records}
                GROUP BY 1, 2
            ),
            expected AS (
                SELECT t.company_id, t.date, t.done, t.revenue, coalesce(p.paid, 0) AS paid
                FROM truth t LEFT JOIN paid p USING (company_id, date)
            )
            SELECT count(*) FROM expected e
            FULL JOIN (SELECT * FROM marts.branch_daily WHERE records > 0 AND {mart}) m USING (company_id, date)
            WHERE (e.done, e.revenue, e.paid) IS DISTINCT FROM (m.done_visits, m.service_revenue, m.paid_total)
              AND NOT EXISTS (SELECT 1 FROM marts.pending q WHERE q.mart = 'branch_daily'
                              AND q.company_id = coalesce(e.company_id, m.company_id) AND q.day = coalesce(e.date, m.date))
        """),
        scope.params() if scope else {},
    ).scalar_one()


def staff_utilization_mismatches(conn: Connection, scope: Scope | None = None) -> int:
    """Staff days whose scheduled minutes (the schedules) or done minutes (the completed visits) differ."""
    if _nothing_rebuilt(scope):
        return 0
    records, schedules = _limits(scope, "company_id", "visit_date"), _limits(scope, "company_id", "work_date")
    mart = _limits(scope, "company_id", "date")
    return conn.execute(
        text(f"""
            WITH visits AS (
                SELECT company_id, staff_id, visit_date AS date,
                       round(coalesce(sum(duration_seconds) FILTER (WHERE {completed_visit()}), 0) / 60.0) AS done
                FROM yclients.records WHERE staff_id IS NOT NULL AND {records} GROUP BY 1, 2, 3
            ),
            expected AS (
                SELECT coalesce(v.company_id, s.company_id) AS company_id, coalesce(v.staff_id, s.staff_id) AS staff_id,
                       coalesce(v.date, s.work_date) AS date, coalesce(s.scheduled_minutes, 0) AS scheduled,
                       coalesce(v.done, 0) AS done
                FROM visits v FULL JOIN (SELECT * FROM yclients.staff_schedules WHERE {schedules}) s
                  ON s.company_id = v.company_id AND s.staff_id = v.staff_id AND s.work_date = v.date
            )
            SELECT count(*) FROM expected e
            FULL JOIN (SELECT * FROM marts.staff_utilization_daily WHERE {mart}) m USING (company_id, staff_id, date)
            WHERE (e.scheduled, e.done) IS DISTINCT FROM (m.scheduled_minutes, m.done_minutes)
              AND NOT EXISTS (SELECT 1 FROM marts.pending q WHERE q.mart = 'staff_utilization_daily'
                              AND q.company_id = coalesce(e.company_id, m.company_id) AND q.day = coalesce(e.date, m.date))
        """),
        scope.params() if scope else {},
    ).scalar_one()


def occupancy_out_of_bounds(conn: Connection) -> tuple[int, int]:
    """(rows with a negative occupancy, rows booked beyond their schedule: occupancy > 1)."""
    negative, over = conn.execute(
        text("""SELECT count(*) FILTER (WHERE occupancy < 0), count(*) FILTER (WHERE occupancy > 1)
                FROM marts.staff_utilization_daily""")
    ).one()
    return negative, over


def client_lifecycle_mismatches(conn: Connection, scope: Scope | None = None) -> int:
    """Clients whose completed visits, revenue (Σ service lines' cost) or bonus balance (Σ ledger) differ."""
    if _nothing_rebuilt(scope):
        return 0
    records = _limits(scope, "r.company_id", "r.client_id", clients=True)
    mart = _limits(scope, "company_id", "client_id", clients=True)
    return conn.execute(
        text(f"""
            WITH lines AS (
                SELECT company_id, record_id, sum(cost) AS cost FROM yclients.record_services s
                WHERE {_of_records(scope, records)} GROUP BY 1, 2
            ),
            bonus AS (
                SELECT company_id, record_id, sum(amount) AS points FROM loyalty.bonus_ledger s
                WHERE {_of_records(scope, records)} GROUP BY 1, 2
            ),
            expected AS (
                SELECT r.company_id, r.client_id, count(*) FILTER (WHERE {completed_visit("r")}) AS visits,
                       coalesce(sum(l.cost) FILTER (WHERE {completed_visit("r")}), 0) AS revenue,
                       coalesce(sum(b.points), 0) AS balance
                FROM yclients.records r
                LEFT JOIN lines l USING (company_id, record_id)
                LEFT JOIN bonus b USING (company_id, record_id)
                WHERE r.client_id IS NOT NULL AND {records}
                GROUP BY 1, 2 HAVING count(*) FILTER (WHERE {completed_visit("r")}) > 0
            )
            SELECT count(*) FROM expected e
            FULL JOIN (SELECT * FROM marts.client_lifecycle WHERE {mart}) m USING (company_id, client_id)
            WHERE (e.visits, e.revenue, e.balance) IS DISTINCT FROM (m.visits, m.revenue, m.bonus_balance)
              AND NOT EXISTS (SELECT 1 FROM marts.pending q WHERE q.mart = 'client_lifecycle'
                              AND q.company_id = coalesce(e.company_id, m.company_id)
                              AND q.client_id = coalesce(e.client_id, m.client_id))
        """),
        scope.params() if scope else {},
    ).scalar_one()


def loyalty_liability_mismatches(conn: Connection) -> int:
    """Companies whose latest closing differs from the ledger's sum or whose days do not roll forward: a
    day's opening is not the day before's closing (0 on the first day), opening + accrued − reversed −
    spent − expired is not its closing, or its closing is not its outstanding."""
    return conn.execute(
        text("""
            WITH ledger AS (
                SELECT company_id, sum(amount) AS total FROM loyalty.bonus_ledger
                WHERE company_id IS NOT NULL GROUP BY 1
            ),
            days AS (
                SELECT company_id, opening, closing, outstanding, accrued - reversed - spent - expired AS net,
                       coalesce(lag(closing) OVER (PARTITION BY company_id ORDER BY date), 0) AS before,
                       row_number() OVER (PARTITION BY company_id ORDER BY date DESC) AS from_end
                FROM marts.loyalty_liability
            ),
            broken AS (
                SELECT company_id FROM days
                WHERE opening <> before OR opening + net <> closing OR closing <> outstanding
            ),
            latest AS (SELECT company_id, closing FROM days WHERE from_end = 1)
            SELECT count(*) FROM ledger g
            FULL JOIN latest l USING (company_id)
            WHERE (coalesce(g.total, 0) <> coalesce(l.closing, 0)
                   OR coalesce(g.company_id, l.company_id) IN (SELECT company_id FROM broken))
              AND NOT EXISTS (SELECT 1 FROM marts.pending q WHERE q.mart = 'loyalty_liability'
                              AND q.company_id = coalesce(g.company_id, l.company_id))
        """)
    ).scalar_one()
