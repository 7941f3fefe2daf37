"""Change capture against the sandbox over HTTP and a real Postgres: late changes of any age reach the
warehouse and the ledger in one tick under either reading of `changed_after`, the watermark moves only
with a committed load, one company's failure stays its own, and a quiet tick costs a few requests."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time as clock
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from ycpipeline.cli.demo_users import seed_demo_users
from ycpipeline.cli.main import app
from ycpipeline.cli.runs import company_counts, failure_message, run_job
from ycpipeline.client import TokenRejectedError, YClientsClient
from ycpipeline.loyalty.ledger import OWNERS_SQL, derive_ledger, ledger_violations
from ycpipeline.normalize.values import to_money
from ycpipeline.sync.changes import ChangePolicy, capture_changes, read_states
from ycpipeline.sync.state import changed_after_value
from ycpipeline_sandbox import Fault, GenerationParams, Sandbox, SandboxConfig, SandboxState, sandbox_client
from ycpipeline_tests.conftest import ANCHOR
from ycpipeline_tests.support.clients import client_options
from ycpipeline_tests.support.helpers import preload

MSK = ZoneInfo("Europe/Moscow")
RATE = Decimal("0.05")
POLICY = ChangePolicy(records_start=date(2024, 1, 1), horizon_days=365, overlap=timedelta(minutes=10))
AGES = (10, 40, 200)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _pages_of_200(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YCLIENTS_PAGE_SIZE", "200")


@pytest.fixture
def sandbox() -> Sandbox:
    """Two companies with 230 days of history and 60 of bookings ahead (a few a day), no rate limit."""
    return Sandbox(
        SandboxState(
            GenerationParams(seed=7, records_per_day=6, anchor=ANCHOR),
            companies=2,
            days_back=230,
            days_ahead=60,
        ),
        SandboxConfig(rate_per_second=None, rate_per_minute=None),
    )


def _preload(sandbox_url: str, engine: Engine, companies: tuple[int, ...] = (235564, 235565)) -> None:
    """The companies' first pass (the full load of the history) without Dagster, then the ledger."""
    preload(sandbox_url, engine, companies)
    derive_ledger(engine, RATE)


def _stored(engine: Engine, company_id: int = 235564) -> dict[int, tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("""SELECT record_id, visit_date, attendance, deleted, total_cost FROM yclients.records
                    WHERE company_id = :c"""),
            {"c": company_id},
        ).all()
    return {r[0]: tuple(r[1:]) for r in rows}


def _expected(sandbox: Sandbox, company_id: int = 235564) -> dict[int, tuple[Any, ...]]:
    state = sandbox.state
    out = {}
    for r in state.iter_records(company_id, ANCHOR - timedelta(days=400), ANCHOR + timedelta(days=400)):
        total = sum((to_money(s["cost"]) or Decimal(0) for s in r["services"]), Decimal("0.00"))
        out[r["id"]] = (datetime.fromisoformat(r["datetime"]).date(), r["attendance"], r["deleted"], total)
    return out


def _net(engine: Engine, record_id: int) -> Decimal:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT coalesce(sum(amount), 0) FROM loyalty.bonus_ledger WHERE record_id = :r"),
            {"r": record_id},
        ).scalar_one()


def _owned(engine: Engine, day: date, attendance: int, spread: int = 15) -> list[int]:
    """Stored records near `day` with this attendance that belong to an app user (so they move money)."""
    with engine.connect() as conn:
        return list(
            conn.execute(
                text(f"""SELECT o.record_id FROM ({OWNERS_SQL}) o JOIN yclients.records r USING (company_id, record_id)
                         WHERE o.company_id = 235564 AND o.user_id IS NOT NULL AND NOT o.deleted
                           AND o.attendance = :a AND r.total_cost > 0
                           AND r.visit_date BETWEEN :d - :s AND :d + :s
                         ORDER BY abs(r.visit_date - :d), o.record_id"""),
                {"a": attendance, "d": day, "s": spread},
            ).scalars()
        )


def test_changed_after_is_early_enough_under_either_reading() -> None:
    watermark = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    overlap = timedelta(minutes=10)
    # Ahead of UTC (Moscow): the UTC wall clock is the earlier one.
    assert changed_after_value(watermark, MSK, overlap) == datetime(2026, 11, 23, 11, 50)
    # Behind UTC (New York): the local wall clock is.
    assert changed_after_value(watermark, ZoneInfo("America/New_York"), overlap) == datetime(
        2026, 11, 23, 6, 50
    )
    for zone in (MSK, ZoneInfo("America/New_York"), ZoneInfo("Asia/Vladivostok")):
        wall = changed_after_value(watermark, zone, overlap)
        assert wall.replace(tzinfo=zone) <= watermark - overlap
        assert wall.replace(tzinfo=UTC) <= watermark - overlap


def _mutate_late_visits(sandbox: Sandbox, engine: Engine) -> dict[str, int]:
    """Change visits 10, 40 and 200 days old in every way a salon does, with no webhook."""
    state = sandbox.state
    touched: dict[str, int] = {}
    for age in AGES:
        day = ANCHOR - timedelta(days=age)
        came = _owned(engine, day, 1)
        no_show = _owned(engine, day, -1)
        assert len(came) >= 4 and no_show, f"the seeded history has too few owned visits near {day}"
        touched[f"no_show_{age}"] = state.set_attendance(235564, came[0], -1)["id"]
        touched[f"came_{age}"] = state.set_attendance(235564, no_show[0], 1)["id"]
        touched[f"cost_{age}"] = state.set_service_cost(235564, came[1], "4321.00")["id"]
        new_start = datetime.combine(_stored(engine)[came[2]][0] - timedelta(days=3), time(12), MSK)
        touched[f"moved_{age}"] = state.move_record(235564, came[2], new_start)["id"]
        touched[f"deleted_{age}"] = state.delete_record(235564, came[3])["id"]
    return touched


@pytest.mark.parametrize("reading", ["local", "utc"])
def test_late_changes_of_any_age_reach_warehouse_and_ledger_in_one_tick(
    dagster_env: Path, engine: Engine, sandbox: Sandbox, sandbox_url: str, reading: str
) -> None:
    sandbox.reconfigure(changed_after_reading=reading)
    seed_demo_users(engine, seed=7)
    _preload(sandbox_url, engine)
    assert _stored(engine) == _expected(sandbox)
    touched = _mutate_late_visits(sandbox, engine)
    nets_before = {name: _net(engine, rid) for name, rid in touched.items()}
    requests_before = sandbox.stats.requests
    tick = run_job("changes_job")
    assert _stored(engine) == _expected(sandbox)
    assert _stored(engine, 235565) == _expected(sandbox, 235565)
    with engine.connect() as conn:
        assert ledger_violations(conn, RATE) == 0
    for age in AGES:
        assert nets_before[f"no_show_{age}"] > 0 and _net(engine, touched[f"no_show_{age}"]) == 0
        assert nets_before[f"came_{age}"] == 0 and _net(engine, touched[f"came_{age}"]) > 0
        total = _expected(sandbox)[touched[f"cost_{age}"]][3]
        assert total >= Decimal("4321.00") and _net(engine, touched[f"cost_{age}"]) == (
            total * RATE
        ).quantize(Decimal("0.01"), rounding="ROUND_FLOOR")
        assert _net(engine, touched[f"moved_{age}"]) == nets_before[f"moved_{age}"] > 0
        assert _net(engine, touched[f"deleted_{age}"]) == 0
    meta = company_counts(tick)[235564]
    assert (meta["updated"], meta["created"], meta["deleted"], meta["moved_out"]) == (len(touched), 0, 3, 3)
    # One request per company: one page of changes (the zone is cached; the catalogue is not read).
    assert sandbox.stats.requests - requests_before == 2
    # The data team sees each salon's partition materialized with what the tick did to it.
    by_partition = {
        e.materialization.partition: e.materialization.metadata
        for e in (ev.event_specific_data for ev in tick.get_asset_materialization_events())
        if e.materialization.asset_key == dg.AssetKey("yclients_records")
    }
    assert set(by_partition) == {"235564", "235565"}
    assert by_partition["235564"]["updated"].value == len(touched)
    assert by_partition["235564"]["moved_out"].value == 3
    assert by_partition["235565"]["updated"].value == 0
    assert by_partition["235564"]["dagster/row_count"].value == len(_expected(sandbox))
    # The marts show their row counts too.
    marts = {
        e.materialization.asset_key.to_user_string(): e.materialization.metadata
        for e in (ev.event_specific_data for ev in tick.get_asset_materialization_events())
    }
    with engine.connect() as conn:
        days = conn.execute(text("SELECT count(*) FROM marts.branch_daily")).scalar_one()
    assert marts["branch_daily"]["dagster/row_count"].value == days > 0


def test_deletion_that_keeps_its_change_time_is_found_by_reconciliation(
    dagster_env: Path, engine: Engine, sandbox: Sandbox, sandbox_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox.reconfigure(delete_bumps_change_time=False)
    monkeypatch.setenv("RECONCILE_DAYS_BACK", "10")
    monkeypatch.setenv("SYNC_DAYS_AHEAD", "3")
    _preload(sandbox_url, engine)  # the first pass is a full load: it counts as a reconciliation
    runner = CliRunner()
    victim = next(
        r["id"] for r in sandbox.state.day_records(235564, ANCHOR - timedelta(days=5)) if not r["deleted"]
    )
    sandbox.state.delete_record(235564, victim)
    result = runner.invoke(app, ["sync"])
    assert result.exit_code == 0, result.output
    assert "reconciled 0" in result.output and "reconciled 1" not in result.output  # not due yet
    assert _stored(engine)[victim][2] is False  # change capture cannot see it
    with engine.begin() as conn:  # a day later
        conn.execute(
            text(
                "UPDATE yclients.sync_state SET last_reconciled_at = last_reconciled_at - interval '25 hours'"
            )
        )
    result = runner.invoke(app, ["sync"])
    assert result.exit_code == 0, result.output
    assert "reconciled 1" in result.output
    assert _stored(engine)[victim][2] is True
    with engine.connect() as conn:
        states = read_states(conn)
    assert all(s.last_reconciled_at > datetime.now(UTC) - timedelta(minutes=5) for s in states.values())


def test_one_failing_company_fails_visibly_and_alone(
    dagster_env: Path, engine: Engine, sandbox: Sandbox, sandbox_url: str
) -> None:
    seed_demo_users(engine, seed=7)
    _preload(sandbox_url, engine, (235564,))
    victim = next(
        r["id"] for r in sandbox.state.day_records(235564, ANCHOR - timedelta(days=100)) if not r["deleted"]
    )
    sandbox.state.set_attendance(235564, victim, 2)
    sandbox.faults.add(Fault("status", status=401, path="/235565", times=10_000))
    # The run fails, naming the company; the healthy salon's partition is materialized.
    result = run_job("changes_job", raise_on_error=False)
    assert not result.success and "company 235565" in failure_message(result)
    failed = [
        e
        for e in result.get_asset_check_evaluations()
        if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR
    ]
    assert {e.check_name for e in failed} == {"records_companies_ok"}
    assert all("235565" in e.metadata["failed_companies"].value for e in failed)
    assert "235564" not in str([e.metadata["failed_companies"].value for e in failed])
    cli = CliRunner().invoke(app, ["sync"])
    assert cli.exit_code == 1
    assert "❌ company 235565" in cli.output and "HTTP 401" in cli.output
    assert "✅ company 235564" in cli.output
    with engine.connect() as conn:
        counts = dict(
            conn.execute(text("SELECT company_id, count(*) FROM yclients.records GROUP BY 1")).all()
        )
        ledger = conn.execute(text("SELECT count(*) FROM loyalty.bonus_ledger")).scalar_one()
        states = read_states(conn)
    assert counts == {235564: len(_expected(sandbox))} and ledger > 0
    assert _stored(engine)[victim][1] == 2  # the sound company's change went through
    assert set(states) == {235564}  # the failed company's watermark was never set


def test_a_window_refresh_goes_on_past_a_failing_company(
    dagster_env: Path, engine: Engine, sandbox: Sandbox
) -> None:
    sandbox.faults.add(Fault("status", status=403, path="/235564", times=10_000))
    day = ANCHOR - timedelta(days=3)
    cli = CliRunner().invoke(app, ["sync", "--from", str(day), "--to", str(day)])
    assert cli.exit_code == 1
    assert "❌ company 235564" in cli.output and "HTTP 403" in cli.output
    assert "✅ company 235565: window: fetched" in cli.output
    assert _stored(engine, 235565).keys() == {r["id"] for r in sandbox.state.day_records(235565, day)}


def test_a_quiet_tick_costs_one_request_per_company(
    dagster_env: Path, engine: Engine, sandbox: Sandbox, sandbox_url: str
) -> None:
    _preload(sandbox_url, engine)
    before = dict(sandbox.stats.by_path)
    run_job("changes_job")
    spent = {
        path: n - before.get(path, 0) for path, n in sandbox.stats.by_path.items() if n != before.get(path, 0)
    }
    # One empty page of changes per company: the zone is cached, the catalogue refreshes daily.
    assert spent == {"/api/v1/records/235564": 1, "/api/v1/records/235565": 1}


def _pass(client: YClientsClient, engine: Engine, policy: ChangePolicy = POLICY, **kw: Any) -> Any:
    return capture_changes(client, engine, 235564, MSK, policy, **kw)


def test_watermark_moves_only_with_a_committed_load(
    client: YClientsClient, engine: Engine, sandbox: Sandbox
) -> None:
    first = _pass(client, engine)
    assert first.mode == "initial"
    record = next(
        r["id"] for r in sandbox.state.day_records(235564, ANCHOR - timedelta(days=90)) if not r["deleted"]
    )
    sandbox.state.set_attendance(235564, record, -1)
    sandbox.faults.add(Fault("status", status=401, path="/records/235564"))
    with pytest.raises(TokenRejectedError):
        _pass(client, engine)
    with engine.connect() as conn:
        assert read_states(conn)[235564].watermark == first.watermark
    assert _stored(engine)[record][1] != -1
    again = _pass(client, engine)
    assert again.mode == "changes" and again.previous_watermark == first.watermark
    assert _stored(engine)[record][1] == -1


def test_history_bounds_rereads_and_far_future(
    client: YClientsClient, engine: Engine, sandbox: Sandbox
) -> None:
    policy = ChangePolicy(
        records_start=ANCHOR - timedelta(days=100),
        horizon_days=365,
        overlap=timedelta(minutes=10),
    )
    _pass(client, engine, policy)
    stored = _stored(engine)
    assert min(v[0] for v in stored.values()) >= policy.records_start
    state = sandbox.state
    kept = next(r for r in state.day_records(235564, ANCHOR - timedelta(days=50)) if not r["deleted"])
    state.move_record(235564, kept["id"], datetime.combine(ANCHOR - timedelta(days=150), time(10), MSK))
    ancient = state.add_record(235564, datetime.combine(ANCHOR - timedelta(days=160), time(10), MSK))
    far = next(r for r in state.day_records(235564, ANCHOR - timedelta(days=20)) if not r["deleted"])
    state.move_record(235564, far["id"], datetime.combine(ANCHOR + timedelta(days=200), time(10), MSK))
    with engine.begin() as conn:  # a record the API never heard of, named by a webhook deletion
        conn.execute(
            text("""INSERT INTO yclients.records (company_id, record_id, visit_date, starts_at, duration_seconds,
                    attendance, deleted, total_cost, synced_at, raw)
                    VALUES (235564, 42, :d, now(), 3600, 1, false, 100, now(), '{}')"""),
            {"d": ANCHOR - timedelta(days=30)},
        )
    result = _pass(client, engine, policy, reread_ids=[42, 2**63, -5])
    assert result.outside_history == 1  # the new booking before the history: counted, not stored
    stored = _stored(engine)
    assert ancient["id"] not in stored
    assert stored[kept["id"]][0] == ANCHOR - timedelta(days=150)  # held already: updated in place
    assert stored[far["id"]][0] == ANCHOR + timedelta(days=200)  # beyond the partitions: stored
    assert stored[42][2] is True and result.reread == 1
    assert result.partitions[ANCHOR - timedelta(days=30)].deleted == 1
    assert result.partitions[ANCHOR - timedelta(days=50)].moved_out == 1


def test_two_racing_passes_take_turns_and_keep_the_later_watermark(
    client: YClientsClient, engine: Engine, sandbox: Sandbox
) -> None:
    _pass(client, engine)
    records = [
        r["id"] for r in sandbox.state.day_records(235564, ANCHOR - timedelta(days=70)) if not r["deleted"]
    ]
    for record in records:
        sandbox.state.set_attendance(235564, record, 2)
    results: list[Any] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        results.append(_pass(client, engine))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2 and _stored(engine) == _expected(sandbox)
    # The second pass waited for the first and found its work done.
    assert sorted(r.totals().updated for r in results) == [0, len(records)]
    with engine.connect() as conn:
        assert read_states(conn)[235564].watermark == max(r.watermark for r in results)


def _wait_for_watermark(engine: Engine, past: datetime, worker: subprocess.Popen[bytes]) -> None:
    deadline = clock.monotonic() + 120
    while clock.monotonic() < deadline and worker.poll() is None:
        with engine.connect() as conn:
            if read_states(conn)[235564].watermark > past:
                return
        clock.sleep(0.05)
    raise AssertionError("the child committed no pass in 120 s")


def test_watermark_survives_sigkill_mid_pass(
    request: pytest.FixtureRequest, sandbox_url: str, warehouse_url: str, engine: Engine, sandbox: Sandbox
) -> None:
    """Kill a child process running passes at random moments: the watermark never gets ahead of the data
    (nothing skipped), the data never gets half a pass (all or nothing), the ledger is never doubled."""
    rounds = 20 if request.config.getoption("--slow") else 5
    rng = random.Random(2027)
    seed_demo_users(engine, seed=7)
    _preload(sandbox_url, engine, (235564,))
    sandbox.reconfigure(latency=0.02)
    candidates = [
        rid
        for rid, (_, attendance, deleted, _) in _expected(sandbox).items()
        if attendance in (1, -1) and not deleted
    ]
    advanced = 0
    for round_ in range(rounds):
        before = _stored(engine)
        for record_id in rng.sample(candidates, 15):
            now = sandbox.state.get_record(235564, record_id)["attendance"]
            sandbox.state.set_attendance(235564, record_id, -now)
        mutated_by = datetime.now(UTC) + timedelta(seconds=1)  # change times are stamped to the second
        expected = _expected(sandbox)
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ycpipeline_tests.support.changes_crash_worker",
                sandbox_url,
                warehouse_url,
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if round_ % 2:  # let a pass commit, then kill the child in one of the passes after it
            _wait_for_watermark(engine, mutated_by, worker)
            clock.sleep(rng.uniform(0.0, 0.5))
        else:  # kill it while it starts or runs its first pass
            clock.sleep(rng.uniform(0.3, 1.5))
        assert worker.poll() is None  # still at work: the kill lands mid-loop
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        with engine.connect() as conn:
            watermark = read_states(conn)[235564].watermark
        after = _stored(engine)
        assert after in (before, expected)  # one transaction: all of a pass or none of it
        if watermark > mutated_by:
            advanced += 1
            assert after == expected  # the watermark passed the changes: they are in
        derive_ledger(engine, RATE)
        with engine.connect() as conn:
            assert ledger_violations(conn, RATE) == 0
    assert advanced >= rounds // 2  # "nothing skipped" was checked after committed passes
    with sandbox_client(sandbox_url, options=client_options(page_size=200)) as client:
        _pass(client, engine)
    derive_ledger(engine, RATE)
    assert _stored(engine) == _expected(sandbox)
    with engine.connect() as conn:
        assert ledger_violations(conn, RATE) == 0
