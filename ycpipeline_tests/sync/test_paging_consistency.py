"""A paged read is judged by the distinct record ids it received, never by the rows: a record rescheduled
while the list is paged moves to a later page and arrives twice, while the record pushed across the page
boundary never arrives, and the rows still add up to `total_count`. Against the sandbox over HTTP (its
`reschedule_during_paging` fault) and a real Postgres: the window refresh, the first full load and change
capture read such a pass again; a pass that stays inconsistent keeps the watermark where it was."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from sqlalchemy import Engine, text

from ycpipeline.cli.demo_users import seed_demo_users
from ycpipeline.defs.records.assets import WATERMARK_CHECK, watermark_check
from ycpipeline.loyalty.ledger import OWNERS_SQL, derive_ledger, ledger_violations
from ycpipeline.sync.changes import ChangePolicy, capture_changes, read_states
from ycpipeline.sync.records import sync_records
from ycpipeline_sandbox import Fault, GenerationParams, Sandbox, SandboxConfig, SandboxState, sandbox_client
from ycpipeline_tests.conftest import ANCHOR
from ycpipeline_tests.support.clients import client_options
from ycpipeline_tests.support.helpers import preload

MSK = ZoneInfo("Europe/Moscow")
RATE = Decimal("0.05")
COMPANY = 235564
PAGE = 4
FIRST_LOAD = ChangePolicy(
    records_start=ANCHOR - timedelta(days=3), horizon_days=30, overlap=timedelta(minutes=10)
)
CHANGES = ChangePolicy(records_start=date(2024, 1, 1), horizon_days=365, overlap=timedelta(minutes=10))


def _stored(engine: Engine) -> dict[int, tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT record_id, visit_date, attendance, deleted FROM yclients.records WHERE company_id = :c"
            ),
            {"c": COMPANY},
        ).all()
    return {r[0]: tuple(r[1:]) for r in rows}


def _expected(sandbox: Sandbox, start: date, end: date) -> dict[int, tuple[Any, ...]]:
    return {
        r["id"]: (datetime.fromisoformat(r["datetime"]).date(), r["attendance"], r["deleted"])
        for r in sandbox.state.iter_records(COMPANY, start, end)
    }


def _small_pages(sandbox_url: str, page_size: int = PAGE) -> Any:
    # One page at a time, so the page boundary the reschedule shifts is the one read next.
    return sandbox_client(
        sandbox_url, options=client_options(page_size=page_size, concurrency=1, backoff_base=0.01)
    )


def _reschedule_on_page_2(sandbox: Sandbox, record_id: int, moved_to: datetime) -> None:
    sandbox.faults.add(
        Fault("reschedule_during_paging", path="/records/", page=2, record_id=record_id, moved_to=moved_to)
    )


def test_a_window_refresh_rereads_a_pass_that_skipped_a_rescheduled_boundary(
    engine: Engine, sandbox: Sandbox, sandbox_url: str
) -> None:
    start, end = ANCHOR - timedelta(days=5), ANCHOR - timedelta(days=3)
    first = sandbox.state.day_records(COMPANY, start)[0]["id"]
    _reschedule_on_page_2(sandbox, first, datetime.combine(end, time(23, 30), MSK))
    with _small_pages(sandbox_url, 10) as client:
        result = sync_records(client, engine, COMPANY, MSK, start, end)
    assert _stored(engine) == _expected(sandbox, start, end)
    assert (result.passes, result.count_mismatch) == (2, None)


def test_the_first_full_load_rereads_a_pass_that_skipped_a_rescheduled_boundary(
    engine: Engine, sandbox: Sandbox, sandbox_url: str
) -> None:
    start = FIRST_LOAD.records_start
    first = sandbox.state.day_records(COMPANY, start)[0]["id"]
    _reschedule_on_page_2(sandbox, first, datetime.combine(ANCHOR + timedelta(days=2), time(23, 30), MSK))
    with _small_pages(sandbox_url, 50) as client:
        result = capture_changes(client, engine, COMPANY, MSK, FIRST_LOAD)
    assert _stored(engine) == _expected(sandbox, start, ANCHOR + timedelta(days=40))
    assert (result.mode, result.passes, result.watermark_held) == ("initial", 2, False)
    with engine.connect() as conn:
        assert read_states(conn, [COMPANY])[COMPANY].watermark == result.watermark


@pytest.fixture
def history() -> Sandbox:
    """One company with 120 days of history (visits 60–100 days old exist), a few records a day."""
    return Sandbox(
        SandboxState(
            GenerationParams(seed=7, records_per_day=6, anchor=ANCHOR),
            companies=1,
            days_back=120,
            days_ahead=10,
        ),
        SandboxConfig(rate_per_second=None, rate_per_minute=None),
    )


@pytest.fixture
def history_url(history: Sandbox) -> Any:
    from ycpipeline.serving import serve_in_thread

    with serve_in_thread(history) as base:
        yield f"{base}/api/v1"


def _no_shows(engine: Engine, sandbox: Sandbox) -> list[int]:
    """Ten completed, owed visits 60–100 days old become no-shows (as in the issue), oldest first."""
    with engine.connect() as conn:
        owed = list(
            conn.execute(
                text(f"""SELECT o.record_id FROM ({OWNERS_SQL}) o JOIN yclients.records r USING (company_id, record_id)
                         WHERE o.company_id = :c AND o.user_id IS NOT NULL AND NOT o.deleted
                           AND o.attendance = 1 AND r.total_cost > 0
                           AND r.visit_date BETWEEN :d - 100 AND :d - 60
                         ORDER BY r.starts_at, r.record_id LIMIT 10"""),
                {"c": COMPANY, "d": ANCHOR},
            ).scalars()
        )
    assert len(owed) == 10, "the seeded history has too few owed visits 60–100 days old"
    for record_id in owed:
        sandbox.state.set_attendance(COMPANY, record_id, -1)
    return owed


def _net(engine: Engine, record_ids: list[int]) -> dict[int, Decimal]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("""SELECT record_id, coalesce(sum(amount), 0) FROM loyalty.bonus_ledger
                    WHERE record_id = ANY(:ids) GROUP BY record_id"""),
            {"ids": record_ids},
        ).all()
    net = {rid: Decimal(0) for rid in record_ids}
    net.update({rid: amount for rid, amount in rows})
    return net


def _loaded_with_ledger(engine: Engine, url: str) -> None:
    seed_demo_users(engine, seed=7)
    preload(url, engine, (COMPANY,))
    derive_ledger(engine, RATE)


def test_no_show_changes_are_not_skipped_by_a_reschedule_while_paging(
    engine: Engine, history: Sandbox, history_url: str
) -> None:
    _loaded_with_ledger(engine, history_url)
    changed = _no_shows(engine, history)
    assert all(v > 0 for v in _net(engine, changed).values())
    # While page 2 of the changes is asked for, the first no-show (on page 1) is rescheduled later.
    _reschedule_on_page_2(history, changed[0], datetime.combine(ANCHOR - timedelta(days=50), time(12), MSK))
    with _small_pages(history_url) as client:
        result = capture_changes(client, engine, COMPANY, MSK, CHANGES)
    derive_ledger(engine, RATE)
    every_day = (ANCHOR - timedelta(days=130), ANCHOR + timedelta(days=20))
    assert _stored(engine) == _expected(history, *every_day)
    assert set(_net(engine, changed).values()) == {Decimal(0)}  # nothing owed for a no-show
    with engine.connect() as conn:
        assert ledger_violations(conn, RATE) == 0
    assert result.passes == 2 and not result.watermark_held


def test_a_pass_that_stays_inconsistent_keeps_the_watermark(
    engine: Engine, history: Sandbox, history_url: str
) -> None:
    _loaded_with_ledger(engine, history_url)
    changed = _no_shows(engine, history)
    with engine.connect() as conn:
        before = read_states(conn, [COMPANY])[COMPANY].watermark
    # Every pass: the first no-show still on page 1 is rescheduled while page 2 is asked for.
    for n, record_id in enumerate(changed[:3]):
        later = datetime.combine(ANCHOR - timedelta(days=50), time(12 + n), MSK)
        _reschedule_on_page_2(history, record_id, later)
    with _small_pages(history_url) as client:
        held = capture_changes(client, engine, COMPANY, MSK, CHANGES)
        with engine.connect() as conn:
            assert read_states(conn, [COMPANY])[COMPANY].watermark == before
        assert (held.passes, held.watermark_held, held.watermark) == (3, True, before)
        verdict = watermark_check(
            WATERMARK_CHECK, "yclients_records", [held.company_id] if held.watermark_held else []
        )
        assert not verdict.passed and verdict.severity == dg.AssetCheckSeverity.WARN
        assert str(COMPANY) in (verdict.description or "")
        # The next pass reads the same changes again, now whole.
        again = capture_changes(client, engine, COMPANY, MSK, CHANGES)
    derive_ledger(engine, RATE)
    assert (again.passes, again.watermark_held) == (1, False)
    assert not again.watermark_held and watermark_check(WATERMARK_CHECK, "yclients_records", []).passed
    assert _stored(engine) == _expected(history, ANCHOR - timedelta(days=130), ANCHOR + timedelta(days=20))
    assert set(_net(engine, changed).values()) == {Decimal(0)}
