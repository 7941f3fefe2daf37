"""The webhook sensor (Dagster's sensor testing API, real inbox), the schedule, and the whole loop."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from sqlalchemy import Engine, text

from ycpipeline.cli.runs import run_job
from ycpipeline.defs.partitions import partition_key
from ycpipeline.sandbox import Sandbox
from ycpipeline.sandbox.webhooks import WebhookEmitter
from ycpipeline.serving import serve_in_thread
from ycpipeline.webhooks.inbox import Inbox
from ycpipeline.webhooks.receiver import WEBHOOK_PATH, create_receiver
from ycpipeline_tests.conftest import ANCHOR

SECRET = "loop-secret-0123456789"
MSK = ZoneInfo("Europe/Moscow")


@pytest.fixture
def inbox(dagster_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Inbox:
    monkeypatch.setenv("YCLIENTS_WEBHOOK_INBOX", str(tmp_path / "inbox"))
    return Inbox(tmp_path / "inbox").ensure()


def _defs() -> dg.Definitions:
    from ycpipeline.definitions import defs

    return defs()


def _tick(instance: dg.DagsterInstance, cursor: str | None) -> dg.SensorResult | dg.SkipReason:
    defs = _defs()
    sensor = defs.resolve_sensor_def("yclients_webhook_sensor")
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, resources=defs.resources, definitions=defs
    ) as context:
        return sensor(context)


def _event(record_id: int, when: datetime | None, company: int = 235564, resource: str = "record") -> dict:
    data = {"id": record_id, "datetime": when.isoformat()} if when else {"id": record_id}
    return {
        "company_id": company,
        "resource": resource,
        "resource_id": record_id,
        "status": "update",
        "data": data,
    }


def test_one_request_per_tick_with_the_touched_partitions(inbox: Inbox, engine: Engine) -> None:
    msk = datetime.now().astimezone().tzinfo
    d1, d2 = date(2026, 11, 3), date(2026, 11, 9)
    with engine.begin() as conn:  # record 77 used to be on the 1st: its old date must be refreshed too
        conn.execute(
            text("""INSERT INTO yclients.records (company_id, record_id, visit_date, starts_at,
            duration_seconds, attendance, deleted, total_cost, synced_at, raw)
            VALUES (235564, 77, '2026-11-01', now(), 60, 0, false, 0, now(), '{}')""")
        )
    inbox.accept(_event(77, datetime.combine(d1, time(10), msk)))
    inbox.accept(_event(78, datetime.combine(d2, time(23, 30), msk)))
    inbox.accept(_event(5, None, resource="service"))
    (inbox.root / "new" / "99999999999999999999-broken.json").write_text("{oops")
    with dg.instance_for_test() as instance:
        result = _tick(instance, None)
        assert isinstance(result, dg.SensorResult) and len(result.run_requests) == 1
        request = result.run_requests[0]
        assert request.job_name == "sync_job"
        assert request.tags["dagster/asset_partition_range_start"] == partition_key(235564, date(2026, 11, 1))
        assert request.tags["dagster/asset_partition_range_end"] == partition_key(235564, d2)
        assert json.loads(result.cursor)["last"] == "99999999999999999999-broken.json"
        assert [
            p.name
            for p in (inbox.root / "quarantine").iterdir()
            if p.suffix == ".json" and not p.name.endswith(".reason.json")
        ] == ["99999999999999999999-broken.json"]
        # Next tick: the events are archived, nothing new → skip, and the cursor holds.
        again = _tick(instance, result.cursor)
        assert isinstance(again, dg.SkipReason)
        assert len(list((inbox.root / "processed").iterdir())) == 3
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM yclients.webhook_events")).scalar_one() == 3


def test_run_key_is_stable_and_a_replay_requests_nothing_new(inbox: Inbox, engine: Engine) -> None:
    event = _event(78, datetime(2026, 11, 9, 12, tzinfo=datetime.now().astimezone().tzinfo))
    inbox.accept(event)
    with dg.instance_for_test() as instance:
        first = _tick(instance, None)
        inbox.accept(event)  # YClients delivers the same event again
        replay = _tick(instance, first.cursor)
    assert first.run_requests[0].run_key == replay.run_requests[0].run_key  # Dagster launches a run_key once


def test_a_failed_tick_rereads_the_same_events(inbox: Inbox, engine: Engine) -> None:
    inbox.accept(_event(5, None, resource="staff"))
    with dg.instance_for_test() as instance:
        first = _tick(instance, None)
        retried = _tick(instance, None)  # the cursor of the failed tick was never committed
    assert first.run_requests[0].run_key == retried.run_requests[0].run_key
    assert first.run_requests[0].job_name == "catalog_job"


def _schedule_tick(name: str, instance: dg.DagsterInstance, when: datetime) -> list[dg.RunRequest]:
    defs = _defs()
    schedule = defs.resolve_schedule_def(name)
    assert schedule.cron_schedule == "*/30 * * * *"
    with dg.build_schedule_context(
        instance=instance, scheduled_execution_time=when, resources=defs.resources
    ) as context:
        return list(schedule.evaluate_tick(context).run_requests or [])


def test_schedules_request_change_capture_each_tick_and_reconciliation_when_due(
    dagster_env: Path, engine: Engine
) -> None:
    now = datetime.now(MSK).replace(second=0, microsecond=0)
    with dg.instance_for_test() as instance:
        (changes,) = _schedule_tick("yclients_sync_every_30_minutes", instance, now)
        assert changes.job_name == "changes_job"
        config = changes.run_config["ops"]["yclients_record_changes"]["config"]
        assert config == {"companies": [235564, 235565], "reread_record_ids": {}}
        # No company has a watermark yet: their first pass is a full load, no reconciliation is due.
        assert _schedule_tick("yclients_reconcile_when_due", instance, now) == []
        with engine.begin() as conn:
            conn.execute(
                text("""INSERT INTO yclients.sync_state (company_id, stream, watermark, last_reconciled_at)
                        VALUES (235564, 'records', now(), now() - interval '25 hours'),
                               (235565, 'records', now(), now() - interval '1 hour')""")
            )
        (reconcile,) = _schedule_tick("yclients_reconcile_when_due", instance, now)
    today = now.date()
    assert reconcile.job_name == "sync_job" and reconcile.tags["ycpipeline/reconcile"] == "235564"
    assert reconcile.tags["dagster/asset_partition_range_start"] == partition_key(
        235564, today - timedelta(days=45)
    )
    assert reconcile.tags["dagster/asset_partition_range_end"] == partition_key(
        235564, today + timedelta(days=30)
    )


def test_sandbox_change_reaches_the_warehouse_and_ledger_through_the_webhook(
    inbox: Inbox, engine: Engine, sandbox: Sandbox
) -> None:
    from ycpipeline.cli.runs import sync_window
    from ycpipeline.loyalty.seed import seed_demo_users

    seed_demo_users(engine, seed=7)
    day = ANCHOR - timedelta(days=2)
    sync_window([235564], day, day)
    target = next(
        r
        for r in sandbox.state.day_records(235564, day)
        if r["attendance"] == 1 and not r["deleted"] and r["client"] and r["services"]
    )
    receiver = create_receiver(inbox.root, SECRET)
    with serve_in_thread(receiver) as base:
        emitter = WebhookEmitter(f"{base}{WEBHOOK_PATH}/{SECRET}")
        sandbox.state.listeners.append(emitter)
        sandbox.state.set_attendance(235564, target["id"], -1)  # the client did not come after all
        emitter.flush()
        emitter.close()
    assert emitter.delivered == 1
    with dg.DagsterInstance.get() as instance:
        request = _tick(instance, None).run_requests[0]
    run_job(
        request.job_name,
        partition_range=(
            request.tags["dagster/asset_partition_range_start"],
            request.tags["dagster/asset_partition_range_end"],
        ),
    )
    with engine.connect() as conn:
        attendance = conn.execute(
            text("SELECT attendance FROM yclients.records WHERE record_id = :r"), {"r": target["id"]}
        ).scalar_one()
        net = conn.execute(
            text("SELECT coalesce(sum(amount), 0) FROM loyalty.bonus_ledger WHERE record_id = :r"),
            {"r": target["id"]},
        ).scalar_one()
    assert attendance == -1 and net == 0


def test_overlapping_runs_on_the_same_partitions_end_as_one_run(
    dagster_env: Path, engine: Engine, sandbox: Sandbox
) -> None:
    import os
    import subprocess
    import sys

    from ycpipeline.loyalty.ledger import ledger_violations
    from ycpipeline.loyalty.seed import seed_demo_users

    seed_demo_users(engine, seed=7)
    first, last = ANCHOR - timedelta(days=6), ANCHOR
    with dg.DagsterInstance.get():  # create the instance's storage once, as a deployment has it already
        pass
    # Two runs as Dagster launches them, each in its own process: the schedule's and the sensor's.
    command = [
        sys.executable,
        "-m",
        "ycpipeline.cli.main",
        "sync",
        "--from",
        str(first),
        "--to",
        str(last),
        "--company",
        "235564",
    ]
    procs = [
        subprocess.Popen(command, env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120)[0].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM yclients.records")).scalar_one()
        entries = conn.execute(text("SELECT count(*) FROM loyalty.bonus_ledger")).scalar_one()
        doubled = conn.execute(
            text("""SELECT count(*) FROM (SELECT record_id FROM loyalty.bonus_ledger
                                       GROUP BY record_id HAVING count(*) > 1) d""")
        ).scalar_one()
        assert ledger_violations(conn, Decimal("0.05")) == 0
    assert stored == sum(len(sandbox.state.day_records(235564, first + timedelta(days=i))) for i in range(7))
    assert entries > 0 and doubled == 0


def test_disabled_sync_skips_schedule_and_sensor(inbox: Inbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YCLIENTS_ENABLED", "false")
    inbox.accept(_event(5, None, resource="staff"))
    with dg.instance_for_test() as instance:
        assert isinstance(_tick(instance, None), dg.SkipReason)
        for name in ("yclients_sync_every_30_minutes", "yclients_reconcile_when_due"):
            assert _schedule_tick(name, instance, datetime(2026, 11, 20, 10, tzinfo=MSK)) == []
