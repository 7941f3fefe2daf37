"""The schedules (Dagster's schedule testing API), the whole webhook loop, overlapping runs, the switch."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from sqlalchemy import Engine, text

from ycpipeline.serving import serve_in_thread
from ycpipeline.webhooks import queue
from ycpipeline.webhooks.events import parse_body
from ycpipeline.webhooks.receiver import WEBHOOK_PATH, create_receiver
from ycpipeline_sandbox import Sandbox
from ycpipeline_sandbox.webhooks import WebhookEmitter
from ycpipeline_tests.conftest import ANCHOR
from ycpipeline_tests.support.helpers import (
    definitions,
    event,
    execute,
    preload,
    requests_of,
    sensor_tick,
    statuses,
)

SECRET = "loop-secret-0123456789"
MSK = ZoneInfo("Europe/Moscow")


def _schedule_tick(name: str, instance: dg.DagsterInstance, when: datetime) -> list[dg.RunRequest]:
    defs = definitions()
    schedule = defs.resolve_schedule_def(name)
    with dg.build_schedule_context(
        instance=instance, scheduled_execution_time=when, resources=defs.resources
    ) as context:
        return list(schedule.evaluate_tick(context).run_requests or [])


def test_the_schedule_requests_one_run_over_every_salon_and_the_run_reconciles_those_due(
    dagster_env: Path, engine: Engine, sandbox_url: str
) -> None:
    from ycpipeline.cli.tick import run_tick

    now = datetime.now(MSK).replace(second=0, microsecond=0)
    with dg.DagsterInstance.get() as instance:
        (changes,) = _schedule_tick("yclients_sync_every_30_minutes", instance, now)
    assert changes.job_name == "changes_job"
    assert changes.tags["dagster/asset_partition_range_start"] == "235564"
    assert changes.tags["dagster/asset_partition_range_end"] == "235565"
    assert changes.run_config["ops"]["yclients_records"]["config"] == {"reread_record_ids": {}}
    preload(sandbox_url, engine)  # both have a watermark: their next passes are change capture
    with engine.begin() as conn:
        conn.execute(
            text("""UPDATE yclients.sync_state SET last_reconciled_at = now() - CASE company_id
                        WHEN 235564 THEN interval '25 hours' ELSE interval '1 hour' END""")
        )
    outcomes = run_tick()
    due, fresh = outcomes[235564].counts["changes"], outcomes[235565].counts["changes"]
    assert due["reconciled"] == 1 and due["window_fetched"] > 0 and due["window_created"] == 0
    assert fresh["reconciled"] == 0 and "window_fetched" not in fresh
    with engine.connect() as conn:
        reconciled = dict(
            conn.execute(
                text(
                    "SELECT company_id, last_reconciled_at > now() - interval '5 minutes' FROM yclients.sync_state"
                )
            ).all()
        )
    assert reconciled == {235564: True, 235565: False}


def test_sandbox_change_reaches_the_warehouse_and_ledger_through_the_webhook(
    dagster_env: Path, engine: Engine, sandbox: Sandbox, sandbox_url: str
) -> None:
    from ycpipeline.cli.demo_users import seed_demo_users

    seed_demo_users(engine, seed=7)
    day = ANCHOR - timedelta(days=2)
    preload(sandbox_url, engine)
    target = next(
        r
        for r in sandbox.state.day_records(235564, day)
        if r["attendance"] == 1 and not r["deleted"] and r["client"] and r["services"]
    )
    receiver = create_receiver(engine, SECRET)
    with serve_in_thread(receiver) as base:
        emitter = WebhookEmitter(f"{base}{WEBHOOK_PATH}/{SECRET}")
        sandbox.state.listeners.append(emitter)
        sandbox.state.set_attendance(235564, target["id"], -1)  # the client did not come after all
        emitter.flush()
        emitter.close()
    assert emitter.delivered == 1 and statuses(engine) == {"pending": 1}
    with dg.DagsterInstance.get() as instance:
        (request,) = requests_of(sensor_tick(instance))
        assert request.job_name == "changes_job"
        assert request.tags["dagster/partition"] == "235564"
        assert statuses(engine) == {"pending": 1}  # claimed, not done: its run has not succeeded yet
        assert execute(request) is None
        assert not requests_of(sensor_tick(instance))  # the next tick settles the batch
    assert statuses(engine) == {"done": 1}
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

    from ycpipeline.cli.demo_users import seed_demo_users
    from ycpipeline.loyalty.ledger import ledger_violations

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


def test_disabled_sync_skips_schedule_and_sensor(
    dagster_env: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YCLIENTS_ENABLED", "false")
    with engine.begin() as conn:
        queue.enqueue(conn, parse_body({**event(5), "resource": "staff"})[0])
    with dg.instance_for_test() as instance:
        assert isinstance(sensor_tick(instance), dg.SkipReason)
        for name in ("yclients_sync_every_30_minutes", "yclients_catalog_daily"):
            assert _schedule_tick(name, instance, datetime.combine(ANCHOR, time(10), MSK)) == []
    assert statuses(engine) == {"pending": 1}
