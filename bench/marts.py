"""Marts: rebuilding the dates one change touched versus rebuilding every date (branch_daily and
staff_utilization_daily over the same synthetic warehouse), as a ratio measured in the same run."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine, text

from bench.common import show, timer
from ycpipeline.marts import checks
from ycpipeline.marts.refresh import MartName, refresh_all, refresh_mart
from ycpipeline.settings import defaults

POLICY = defaults().mart_policy()
DAYS = 730
STAFF = 40


def _fill(engine: Engine, records: int) -> None:
    """`records` records over two years of one company, each with one service line, a payment for most
    completed visits and a schedule for every staff member and day."""
    with engine.begin() as conn:
        conn.execute(
            text("""TRUNCATE yclients.records, yclients.record_services, yclients.record_payments,
                    yclients.staff_schedules, marts.pending, marts.branch_daily,
                    marts.staff_utilization_daily""")
        )
        conn.execute(
            text("""
            INSERT INTO yclients.records (company_id, record_id, visit_date, starts_at, duration_seconds,
                staff_id, client_id, comment, attendance, deleted, total_cost, synced_at, raw, online)
            SELECT 1, r, date '2025-01-01' + (r % :days), now(), 1800 * (1 + r % 4), 1 + r % :staff,
                   1 + r % 50000, '', CASE WHEN r % 10 = 0 THEN -1 ELSE 1 END, r % 25 = 0,
                   500 + (r % 4000), now(), '{}', r % 2 = 0
            FROM generate_series(1, :records) AS r"""),
            {"records": records, "days": DAYS, "staff": STAFF},
        )
        conn.execute(
            text("""INSERT INTO yclients.record_services (company_id, record_id, service_id, cost, amount)
                    SELECT company_id, record_id, 1, total_cost, 1 FROM yclients.records""")
        )
        conn.execute(
            text("""INSERT INTO yclients.record_payments (company_id, transaction_id, record_id, paid_at, amount,
                        account_id, synced_at, raw)
                    SELECT company_id, record_id, record_id, now(), total_cost, 1, now(), '{}'
                    FROM yclients.records WHERE attendance = 1 AND record_id % 7 <> 0""")
        )
        conn.execute(
            text("""INSERT INTO yclients.staff_schedules (company_id, staff_id, work_date, is_working, slots,
                        scheduled_minutes, synced_at, raw)
                    SELECT 1, s, date '2025-01-01' + d, true, '[]', 600, now(), '{}'
                    FROM generate_series(1, :staff) s, generate_series(0, :days - 1) d"""),
            {"staff": STAFF, "days": DAYS},
        )
        conn.execute(text("DELETE FROM marts.pending"))
        conn.execute(text("ANALYZE"))


def run(engine: Engine, records: int) -> None:
    """Full rebuild, then one changed record's incremental rebuild, per mart; one section."""
    _fill(engine, records)
    rows: list[tuple[str, object]] = [("records", records), ("dates", DAYS), ("staff", STAFF)]
    marts: tuple[MartName, ...] = ("branch_daily", "staff_utilization_daily")
    for mart in marts:
        with timer() as full:
            refresh_mart(engine, mart, POLICY, full=True)
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE yclients.records SET attendance = -1 WHERE company_id = 1 AND record_id = 12345")
            )
            conn.execute(text("DELETE FROM marts.pending WHERE mart <> :m"), {"m": mart})
        with timer() as one_day:
            result = refresh_mart(engine, mart, POLICY)
        assert result.keys == 1, result
        rows += [
            (f"{mart}: full rebuild (s)", full[0]),
            (f"{mart}: one changed date (s)", one_day[0]),
            (f"ratio {mart}: one date ÷ full", one_day[0] / full[0]),
        ]
    # What a quiet tick pays at this size: every mart with nothing queued, then the reconciling checks.
    with timer() as quiet:
        refresh_all(engine, POLICY)
    one = checks.Scope([1], date(2025, 6, 1), date(2025, 6, 1))
    with engine.connect() as conn, timer() as reconcile_all:
        for check in (checks.branch_daily_mismatches, checks.staff_utilization_mismatches):
            check(conn)
    with engine.connect() as conn, timer() as reconcile_one:
        for check in (checks.branch_daily_mismatches, checks.staff_utilization_mismatches):
            check(conn, one)
    rows += [
        ("quiet refresh of every mart (s)", quiet[0]),
        ("reconciling checks, two marts, every key (s)", reconcile_all[0]),
        ("the same, one rebuilt date (s)", reconcile_one[0]),
        ("ratio checks: one date ÷ every key", reconcile_one[0] / reconcile_all[0]),
    ]
    show(f"marts: one changed date vs a full rebuild over {records:,} records", rows)
