"""The streams beside the records and the marts, on the sandbox and a real Postgres.

Contract: payments ride on the records calls; the new streams load what the sandbox serves (quarantining
bad rows, keeping stored ones); the marts agree with what the sandbox's own data implies, are rebuilt only
for the keys that changed, and their reconciling checks fail when a mart disagrees with the base tables;
a quiet tick adds no request of the new streams.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, text

from ycpipeline.client import YClientsClient
from ycpipeline.defs.automation.planning import changes_runs
from ycpipeline.loyalty.ledger import derive_ledger
from ycpipeline.marts import checks
from ycpipeline.marts.refresh import refresh_all, refresh_mart
from ycpipeline.settings import defaults
from ycpipeline.sync.changes import ChangePolicy, capture_changes
from ycpipeline.sync.companies import company_timezone
from ycpipeline.sync.records import sync_records
from ycpipeline.sync.streams import (
    CASH_LEDGER,
    CLIENT_CHANGES,
    CLIENTS,
    PAYMENT_ACCOUNTS,
    SCHEDULES,
    SERVICE_CATEGORIES,
    SERVICES,
    STAFF,
)
from ycpipeline_sandbox import Sandbox
from ycpipeline_sandbox.salon import shift
from ycpipeline_tests.conftest import ANCHOR
from ycpipeline_tests.support.stream_loads import load

COMPANY = 235564
START, END = ANCHOR - timedelta(days=20), ANCHOR + timedelta(days=5)
POLICY = defaults().mart_policy()


@pytest.fixture
def loaded(sandbox: Sandbox, client: YClientsClient, engine: Engine) -> Iterator[Engine]:
    """One company's catalogue, records (with payments), streams, a ledger and the marts."""
    zone = company_timezone(client, engine, COMPANY)
    for catalogue in (SERVICES, STAFF):
        load(catalogue, client, engine, COMPANY, service_link_template="{form}", staff_link_template="{form}")
    sync_records(client, engine, COMPANY, zone, START, END)
    for extra in (SERVICE_CATEGORIES, PAYMENT_ACCOUNTS):
        load(extra, client, engine, COMPANY)
    load(CLIENTS, client, engine, COMPANY)
    load(SCHEDULES, client, engine, COMPANY, window=(START, END))
    with engine.begin() as conn:  # app users: the phones of a few clients, so the ledger accrues
        conn.execute(
            text("""INSERT INTO loyalty.app_users (user_id, phone)
                    SELECT row_number() OVER (ORDER BY client_phone), client_phone
                    FROM (SELECT DISTINCT client_phone FROM yclients.records
                          WHERE client_phone IS NOT NULL ORDER BY 1 LIMIT 30) p""")
        )
    derive_ledger(engine, Decimal("0.05"))
    refresh_all(engine, POLICY)
    yield engine


def _sandbox_records(sandbox: Sandbox, day: date) -> list[dict]:
    return sandbox.state.day_records(COMPANY, day)


def _completed(record: dict) -> bool:
    return record["attendance"] == 1 and record["deleted"] is not True


def test_payments_ride_on_the_records_calls(sandbox: Sandbox, loaded: Engine) -> None:
    paid = {
        t["id"]: Decimal(str(t["amount"]))
        for day in range((END - START).days + 1)
        for r in _sandbox_records(sandbox, START + timedelta(days=day))
        for t in r["finance_transactions"]
    }
    with loaded.connect() as conn:
        stored = dict(conn.execute(text("SELECT transaction_id, amount FROM yclients.record_payments")).all())
        raw_has_payments = conn.execute(
            text("SELECT count(*) FROM yclients.records WHERE raw ? 'finance_transactions'")
        ).scalar_one()
    assert paid and stored == paid
    assert raw_has_payments == 0  # the record's raw stays the record: payments live in their own rows
    assert not any("transactions" in path for path in sandbox.stats.by_path)  # no request of their own


def test_marts_agree_with_what_the_sandbox_implies(sandbox: Sandbox, loaded: Engine) -> None:
    day = ANCHOR - timedelta(days=3)
    records = _sandbox_records(sandbox, day)
    done = [r for r in records if _completed(r)]
    revenue = sum((Decimal(str(s["cost"])) for r in done for s in r["services"]), Decimal(0))
    paid = sum((Decimal(str(t["amount"])) for r in records for t in r["finance_transactions"]), Decimal(0))
    with loaded.connect() as conn:
        row = conn.execute(
            text("SELECT * FROM marts.branch_daily WHERE company_id = :c AND date = :d"),
            {"c": COMPANY, "d": day},
        ).one()
        assert (row.records, row.done_visits, row.service_revenue, row.paid_total) == (
            len(records),
            len(done),
            revenue,
            paid,
        )
        assert row.cancellations == sum(1 for r in records if r["deleted"] is True)
        assert row.paid_cash + row.paid_cashless + row.paid_other == row.paid_total
        # The staff schedules: each working staff member's shift of that day, in minutes.
        staff = sandbox.state.staff(COMPANY)
        member = next(
            n for n, m in enumerate(staff) if not m["is_deleted"] and not m["fired"] and shift(n, day)
        )
        scheduled = conn.execute(
            text("""SELECT scheduled_minutes FROM marts.staff_utilization_daily
                    WHERE company_id = :c AND staff_id = :s AND date = :d"""),
            {"c": COMPANY, "s": staff[member]["id"], "d": day},
        ).scalar_one()
        assert scheduled == sum(
            (int(b[:2]) * 60 + int(b[3:])) - (int(a[:2]) * 60 + int(a[3:])) for a, b in shift(member, day)
        )
        # The clients search counts the completed visits of its records: over the loaded window, the
        # warehouse's lifecycle counts the same visits for a client whose history lies inside it.
        one = conn.execute(
            text("""SELECT l.client_id, l.visits, c.visits_count FROM marts.client_lifecycle l
                    JOIN yclients.clients c USING (company_id, client_id) ORDER BY l.visits DESC LIMIT 1""")
        ).one()
        assert one.visits >= 1 and one.visits_count >= one.visits
        for mismatches in (
            checks.branch_daily_mismatches(conn),
            checks.staff_utilization_mismatches(conn),
            checks.client_lifecycle_mismatches(conn),
            checks.loyalty_liability_mismatches(conn),
        ):
            assert mismatches == 0
        outstanding = conn.execute(
            text(
                "SELECT outstanding FROM marts.loyalty_liability WHERE company_id = :c ORDER BY date DESC LIMIT 1"
            ),
            {"c": COMPANY},
        ).scalar_one()
        ledger = conn.execute(text("SELECT sum(amount) FROM loyalty.bonus_ledger")).scalar_one()
        assert outstanding == ledger > 0


def test_a_change_rebuilds_only_its_dates_and_the_checks_catch_a_wrong_mart(
    sandbox: Sandbox, client: YClientsClient, loaded: Engine
) -> None:
    day = ANCHOR - timedelta(days=2)
    record = next(r for r in _sandbox_records(sandbox, day) if r["attendance"] == 1 and not r["deleted"])
    sandbox.state.set_attendance(COMPANY, record["id"], -1)
    zone = company_timezone(client, loaded, COMPANY)
    policy = ChangePolicy(date(2024, 1, 1), horizon_days=365, overlap=timedelta(minutes=10))
    capture_changes(client, loaded, COMPANY, zone, policy)  # first pass: the full load and its watermark
    refresh_all(loaded, POLICY)
    sandbox.state.set_attendance(COMPANY, record["id"], 1)
    sandbox.state.set_attendance(COMPANY, record["id"], -1)
    capture_changes(client, loaded, COMPANY, zone, policy)
    result = refresh_mart(loaded, "branch_daily", POLICY)
    assert (result.first_day, result.last_day) == (day, day) and result.keys == 1
    with loaded.connect() as conn:
        no_shows = conn.execute(
            text("SELECT no_shows FROM marts.branch_daily WHERE company_id = :c AND date = :d"),
            {"c": COMPANY, "d": day},
        ).scalar_one()
        assert no_shows == sum(
            1 for r in _sandbox_records(sandbox, day) if r["attendance"] == -1 and not r["deleted"]
        )
    refresh_all(loaded, POLICY)
    with loaded.begin() as conn:
        assert checks.branch_daily_mismatches(conn) == 0
        conn.execute(
            text("UPDATE marts.branch_daily SET service_revenue = service_revenue + 1 WHERE date = :d"),
            {"d": day},
        )
        conn.execute(
            text(
                "UPDATE marts.client_lifecycle SET visits = visits + 1 WHERE client_id = (SELECT min(client_id) FROM marts.client_lifecycle)"
            )
        )
        conn.execute(
            text(
                "UPDATE marts.loyalty_liability SET outstanding = outstanding - 1 WHERE date = (SELECT max(date) FROM marts.loyalty_liability)"
            )
        )
        conn.execute(
            text("UPDATE yclients.staff_schedules SET scheduled_minutes = 1 WHERE work_date = :d"), {"d": day}
        )
        conn.execute(text("DELETE FROM marts.pending"))  # the tampered schedule is not queued for a rebuild
        assert checks.branch_daily_mismatches(conn) == 1
        assert checks.client_lifecycle_mismatches(conn) == 1
        assert checks.loyalty_liability_mismatches(conn) == 1
        assert checks.staff_utilization_mismatches(conn) > 0
        assert checks.occupancy_out_of_bounds(conn)[0] == 0
    refresh_all(loaded, POLICY, full=True)
    with loaded.connect() as conn:
        assert checks.branch_daily_mismatches(conn) == 0
        assert checks.occupancy_out_of_bounds(conn)[1] > 0  # booked hours beyond a one-minute schedule


def _days(day: date) -> checks.Scope:
    return checks.Scope([COMPANY], day, day)


def test_a_scoped_check_compares_what_a_refresh_rebuilt(loaded: Engine) -> None:
    tampered, other = ANCHOR - timedelta(days=5), ANCHOR - timedelta(days=6)
    with loaded.begin() as conn:
        conn.execute(
            text("UPDATE marts.branch_daily SET service_revenue = service_revenue + 1 WHERE date = :d"),
            {"d": tampered},
        )
        client_id = conn.execute(text("SELECT min(client_id) FROM marts.client_lifecycle")).scalar_one()
        conn.execute(
            text("UPDATE marts.client_lifecycle SET visits = visits + 1 WHERE client_id = :c"),
            {"c": client_id},
        )
        assert checks.branch_daily_mismatches(conn, _days(other)) == 0
        assert checks.branch_daily_mismatches(conn, _days(tampered)) == 1
        assert checks.branch_daily_mismatches(conn, checks.Scope([], None, None)) == 0  # nothing rebuilt
        assert checks.branch_daily_mismatches(conn) == 1
        assert checks.staff_utilization_mismatches(conn, _days(tampered)) == 0
        assert checks.client_lifecycle_mismatches(conn, checks.Scope([COMPANY], clients=[client_id + 1])) == 0
        assert checks.client_lifecycle_mismatches(conn, checks.Scope([COMPANY], clients=[client_id])) == 1
        assert checks.client_lifecycle_mismatches(conn) == 1


def test_client_lifecycle_statuses_age_with_time(loaded: Engine) -> None:
    later = datetime.now(UTC) + timedelta(days=POLICY.lost_after_days + 400)
    refresh_mart(loaded, "client_lifecycle", POLICY, now=later)
    with loaded.connect() as conn:
        statuses = dict(
            conn.execute(text("SELECT status, count(*) FROM marts.client_lifecycle GROUP BY 1")).all()
        )
    assert set(statuses) == {"lost"}


def test_bad_rows_are_quarantined_and_sound_ones_load(
    sandbox: Sandbox, client: YClientsClient, engine: Engine
) -> None:
    zone = company_timezone(client, engine, COMPANY)
    day = ANCHOR - timedelta(days=4)
    paid = [r for r in _sandbox_records(sandbox, day) if r["finance_transactions"]]
    sync_records(client, engine, COMPANY, zone, day, day)
    txn = paid[0]["finance_transactions"][0]
    hostile = [{**txn, "amount": "NaN\x00"}, *paid[0]["finance_transactions"][1:]]
    sandbox.state.patch_record(COMPANY, paid[0]["id"], {"finance_transactions": hostile})
    sandbox.state.patch_record(
        COMPANY,
        paid[1]["id"],
        {"finance_transactions": [{**paid[1]["finance_transactions"][0], "id": 2**64}]},
    )
    sync_records(client, engine, COMPANY, zone, day, day)
    with engine.connect() as conn:
        kept = conn.execute(
            text("SELECT amount FROM yclients.record_payments WHERE transaction_id = :t"), {"t": txn["id"]}
        ).scalar_one()
        reasons = conn.execute(
            text("SELECT source_key, reasons FROM yclients.rejected_rows WHERE entity = 'record_payments'")
        ).all()
        records_rejected = conn.execute(
            text("SELECT count(*) FROM yclients.rejected_rows WHERE entity = 'records'")
        ).scalar_one()
    assert kept == Decimal(str(txn["amount"]))  # the stored payment stays while its new version is refused
    assert len(reasons) == 2 and records_rejected == 0
    assert any("amount" in " ".join(r.reasons) for r in reasons)


def test_schedules_fall_back_to_one_request_per_staff_member(
    sandbox: Sandbox, client: YClientsClient, engine: Engine
) -> None:
    load(STAFF, client, engine, COMPANY, booking_form_url=None, staff_link_template="{form}")
    company_wide = load(SCHEDULES, client, engine, COMPANY, window=(START, END))
    with engine.connect() as conn:
        before = conn.execute(
            text("SELECT staff_id, work_date, scheduled_minutes FROM yclients.staff_schedules ORDER BY 1, 2")
        ).all()
    sandbox.reconfigure(company_staff_schedule=False)
    per_staff = load(SCHEDULES, client, engine, COMPANY, window=(START, END))
    with engine.connect() as conn:
        after = conn.execute(
            text("SELECT staff_id, work_date, scheduled_minutes FROM yclients.staff_schedules ORDER BY 1, 2")
        ).all()
        busy = conn.execute(
            text("SELECT count(*) FROM yclients.staff_schedules WHERE busy_intervals IS NOT NULL")
        ).scalar_one()
    assert company_wide.notes["endpoint"] == "company" and per_staff.notes["endpoint"] == "per_staff"
    assert before == after and before
    assert busy == 0  # the per-staff schedule has no busy intervals


def test_client_webhooks_refresh_their_clients(
    sandbox: Sandbox, client: YClientsClient, engine: Engine
) -> None:
    load(CLIENTS, client, engine, COMPANY)
    with engine.connect() as conn:
        some = (
            conn.execute(text("SELECT client_id FROM yclients.clients ORDER BY client_id LIMIT 2"))
            .scalars()
            .all()
        )
    sandbox.state.update_client(COMPANY, some[0], phone="8 (916) 000-11-22", name="Новое имя")
    before = dict(sandbox.stats.by_path)
    result = load(CLIENT_CHANGES, client, engine, COMPANY, wanted=[some[0], 2**64, -1])
    searches = sandbox.stats.by_path[f"/api/v1/company/{COMPANY}/clients/search"] - before.get(
        f"/api/v1/company/{COMPANY}/clients/search", 0
    )
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT name, phone FROM yclients.clients WHERE client_id = :c"), {"c": some[0]}
        ).one()
    assert searches == 1 and result.fetched == 1
    assert (row.name, row.phone) == ("Новое имя", "+79160001122")
    (run,) = changes_runs([[COMPANY]], "webhook", client_ids={COMPANY: [some[1]]})
    assert run.run_config["ops"]["yclients_client_changes"]["config"]["ids"] == {str(COMPANY): [some[1]]}


def test_cash_ledger_reads_the_wide_window_weekly(
    sandbox: Sandbox, client: YClientsClient, engine: Engine
) -> None:
    windows = {"cash_ledger_overlap_days": 3, "cash_ledger_wide_days": 30}
    now = datetime.combine(ANCHOR, datetime.min.time(), UTC) + timedelta(hours=12)
    first = load(CASH_LEDGER, client, engine, COMPANY, now=now, **windows)
    nightly = load(CASH_LEDGER, client, engine, COMPANY, now=now + timedelta(days=1), **windows)
    weekly = load(CASH_LEDGER, client, engine, COMPANY, now=now + timedelta(days=8), **windows)
    assert (first.notes["wide"], nightly.notes["wide"], weekly.notes["wide"]) == (True, False, True)
    assert first.fetched > nightly.fetched > 0 and first.rejected == 0


def test_a_quiet_tick_adds_no_request_and_runs_the_marts(
    dagster_env: object, engine: Engine, sandbox: Sandbox, sandbox_url: str
) -> None:
    from ycpipeline.cli.runs import run_job
    from ycpipeline_tests.support.helpers import preload

    preload(sandbox_url, engine)
    run_job("changes_job")  # catalogue, payments on the records, ledger, marts
    before = dict(sandbox.stats.by_path)
    result = run_job("changes_job")  # a quiet tick
    spent = {p: n - before.get(p, 0) for p, n in sandbox.stats.by_path.items() if n - before.get(p, 0)}
    # Payments ride on the records pages; categories, accounts, clients, schedules and the cash ledger are
    # read by the daily reconciliation and the nightly job, not by the tick.
    new_streams = {
        p: n
        for p, n in spent.items()
        if any(k in p for k in ("service_categories", "/accounts/", "clients", "schedule", "transactions"))
    }
    assert not new_streams, new_streams
    evaluations = result.get_asset_check_evaluations()
    marts_checks = {
        e.check_name: e.passed
        for e in evaluations
        if e.asset_key.path[0]
        in ("branch_daily", "staff_utilization_daily", "client_lifecycle", "loyalty_liability")
    }
    assert marts_checks["branch_daily_reconciles"] and marts_checks["client_lifecycle_reconciles"]
    assert marts_checks["loyalty_liability_reconciles"] and marts_checks["staff_utilization_daily_reconciles"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM marts.branch_daily")).scalar_one() > 0
