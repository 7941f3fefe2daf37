"""Runs that heal: a dead run worker frees its pool slots and is retried, a killed `webhook drain` or
`sync` is cleaned up by the next command, and a webhook batch whose run never ends is released after a
bound.

The dead worker is reproduced with the real `dagster-daemon` on the instance configuration the CLI
writes, with only its polling intervals shortened."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import pytest
import yaml
from sqlalchemy import Engine, text

from ycpipeline.cli.runs import LOCAL_INSTANCE, dagster_instance
from ycpipeline.defs.automation.webhook_runs import BATCH_RUN_BOUND, BATCH_TAG, run_outcome
from ycpipeline.serving import serve_in_thread
from ycpipeline.webhooks.processing import settle
from ycpipeline.webhooks.receiver import WEBHOOK_PATH, create_receiver
from ycpipeline_sandbox import Fault, Sandbox
from ycpipeline_tests.conftest import ANCHOR
from ycpipeline_tests.support.helpers import definitions, event, preload, requests_of, sensor_tick, statuses

ROOT = Path(__file__).resolve().parents[2]
SECRET = "heal-secret-1a2b3c4d5e"
COMPANY = 235564
# The daemon test's bound, from the SIGKILL to the event done: mostly the retry's whole run (a
# change-capture run of some 15 steps, each in its own process: two minutes and more on a busy
# 2-core machine). Production's bound is larger by dagster.yaml's polling intervals (run monitoring
# every 60 s, slots freed 60 s after a run ends): within 2 minutes of the worker's death its slot is
# free.
DEAD_RUN_BOUND_SECONDS = 300


@pytest.fixture
def hook(engine: Engine) -> Iterator[str]:
    """The receiver's URL (secret included), writing into the test warehouse's queue."""
    with serve_in_thread(create_receiver(engine, SECRET)) as base:
        yield f"{base}{WEBHOOK_PATH}/{SECRET}"


def _post(url: str, body: Any) -> None:
    response = httpx.post(url, json=body, timeout=30)
    assert response.status_code == 200, response.text


def _local_instance(home: Path, **monitoring: int) -> None:
    """The instance the CLI writes, with run monitoring's intervals shortened for a test."""
    config = {**LOCAL_INSTANCE, "run_monitoring": {**LOCAL_INSTANCE.get("run_monitoring", {}), **monitoring}}
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))


def _changed_visit(sandbox: Sandbox, days_back: int) -> tuple[int, int]:
    """A visit of COMPANY whose attendance the sandbox flips; (record id, new attendance)."""
    day = ANCHOR - timedelta(days=days_back)
    record = next(r for r in sandbox.state.day_records(COMPANY, day) if not r["deleted"])
    new = -1 if record["attendance"] == 1 else 1
    sandbox.state.set_attendance(COMPANY, record["id"], new)
    return record["id"], new


def _attendance(engine: Engine, record_id: int) -> int | None:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT attendance FROM yclients.records WHERE record_id = :r"), {"r": record_id}
        ).scalar()


def _wait(condition: Any, seconds: float, what: str) -> float:
    """Poll until `condition()` holds; returns the seconds it took."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, f"{what}: not within {seconds} s"
        time.sleep(0.3)
    return time.monotonic() - started


def _descendants(pid: int) -> list[int]:
    """A process and every process below it (Linux /proc)."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children = (task / "children").read_text().split() if (task / "children").exists() else []
        for child in children:
            found.extend(_descendants(int(child)))
    return found


def _kill_tree(pid: int) -> None:
    for each in reversed(_descendants(pid)):
        with contextlib.suppress(ProcessLookupError):  # it ended on its own meanwhile
            os.kill(each, signal.SIGKILL)


def _worker_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The run worker's pid, from the engine event the worker logs when it starts."""
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        if entry.message.startswith("Started process for run"):
            return int(entry.message.split("pid: ")[1].rstrip(")."))
    return None


def test_the_instance_the_cli_writes_heals_runs_as_dagster_yaml_does() -> None:
    production = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    for key in ("run_monitoring", "run_retries"):
        assert LOCAL_INSTANCE[key] == production[key], key
    monitoring = production["run_monitoring"]
    assert monitoring["enabled"] and monitoring["max_resume_run_attempts"] == 0
    # Within minutes: a dead run's slots are freed at most this long after it failed.
    assert monitoring["free_slots_after_run_end_seconds"] + monitoring["poll_interval_seconds"] <= 120
    assert production["run_retries"]["enabled"] and production["run_retries"]["max_retries"] == 0


def test_compose_runs_on_the_instance_that_heals() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "cp dagster.yaml $DAGSTER_HOME/" in dockerfile  # the image's instance is dagster.yaml
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for name in ("code", "webserver", "daemon"):
        assert "DAGSTER_HOME" not in services[name].get("environment", {}), name
        assert not services[name].get("volumes"), name
    assert yaml.safe_load((ROOT / "dagster.yaml").read_text())["run_monitoring"]["enabled"] is True


@pytest.mark.parametrize("job", ["changes_job", "sync_job", "ledger_job", "nightly_streams_job"])
def test_records_ledger_and_marts_jobs_bound_their_run_time_and_retry(dagster_env: Path, job: str) -> None:
    tags = definitions().resolve_job_def(job).run_tags
    assert 0 < int(tags["dagster/max_runtime"]) <= 6 * 3600
    assert 0 < int(tags["dagster/max_retries"]) <= 3


def test_a_batch_whose_run_never_ends_is_released_after_the_bound(
    dagster_env: Path, engine: Engine, hook: str
) -> None:
    _post(hook, event(1))
    with dg.DagsterInstance.get() as instance:
        (request,) = requests_of(sensor_tick(instance))
        # The run started and its process vanished without a trace: Dagster says STARTED for ever.
        instance.add_run(
            dg.DagsterRun(job_name="changes_job", tags=request.tags, status=dg.DagsterRunStatus.STARTED)
        )

        def lookup(batch_id: str) -> Any:
            return run_outcome(instance, batch_id, engine)

        soon = datetime.now(UTC) + BATCH_RUN_BOUND - timedelta(minutes=1)
        assert settle(engine, lookup, max_attempts=5, run_bound=BATCH_RUN_BOUND, now=soon).retried == 0
        later = datetime.now(UTC) + BATCH_RUN_BOUND + timedelta(minutes=1)
        assert settle(engine, lookup, max_attempts=5, run_bound=BATCH_RUN_BOUND, now=later).retried == 1
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT status, batch_id, attempts, reason FROM yclients.webhook_events")
        ).one()
    assert (row.status, row.batch_id, row.attempts) == ("pending", None, 1)
    assert "still not ended after" in row.reason


def test_a_drain_killed_mid_run_is_cleaned_up_by_the_next_drain(
    dagster_env: Path, engine: Engine, sandbox: Sandbox, sandbox_url: str, hook: str
) -> None:
    _local_instance(dagster_env)  # the CLI's instance: its run holds the records pool's one slot
    preload(sandbox_url, engine, (COMPANY,))
    record_id, new = _changed_visit(sandbox, 5)
    _post(hook, event(record_id))
    sandbox.faults.add(Fault("timeout", path=f"/records/{COMPANY}", delay=20))
    command = [sys.executable, "-m", "ycpipeline.cli.main", "webhook", "drain"]
    first = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # Inside the change-capture step, holding the pool slot, waiting for the API.
        _wait(lambda: sandbox.faults.injected >= 1, 120, "the drain's run reached the records step")
    finally:
        _kill_tree(first.pid)
        first.wait()
    with dg.DagsterInstance.get() as instance:
        (dead,) = instance.get_runs()
    assert dead.status == dg.DagsterRunStatus.STARTED  # nothing but the next drain will end it

    second = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "webhook events: pending 0, done 1, ignored 0, failed 0" in second.stdout
    assert statuses(engine) == {"done": 1}
    assert _attendance(engine, record_id) == new
    with dg.DagsterInstance.get() as instance:
        failed = instance.get_run_by_id(dead.run_id)
        assert failed is not None and failed.status == dg.DagsterRunStatus.FAILURE
        messages = [
            e.message for e in instance.all_logs(dead.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
        ]
        assert any("`webhook drain` process that executed run" in m for m in messages), messages
        info = instance.event_log_storage.get_concurrency_info("yclients_records")
        assert not info.claimed_slots and not info.pending_steps


def test_a_sync_killed_mid_run_does_not_hold_the_records_pool_from_the_next_one(
    dagster_env: Path, engine: Engine, sandbox: Sandbox
) -> None:
    _local_instance(dagster_env)  # the CLI's instance: the `yclients_records` pool has one slot
    day = (ANCHOR - timedelta(days=2)).isoformat()
    command = [sys.executable, "-m", "ycpipeline.cli.main", "sync", "--company", str(COMPANY)]
    command += ["--from", day, "--to", day]
    sandbox.faults.add(Fault("timeout", path=f"/records/{COMPANY}", delay=20))
    first = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(lambda: sandbox.faults.injected >= 1, 180, "the sync's run reached the records step")
    finally:
        _kill_tree(first.pid)
        first.wait()
    # Without its process the run would stay STARTED, holding the slot: this sync would wait for ever.
    second = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert second.returncode == 0, second.stdout + second.stderr
    with dg.DagsterInstance.get() as instance:
        dead, done = sorted(instance.get_runs(), key=lambda r: r.status.value)
        assert (dead.status, done.status) == (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.SUCCESS)
        messages = [
            e.message for e in instance.all_logs(dead.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
        ]
        assert any("`ycpipeline` process that executed run" in m for m in messages), messages
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT count(*) FROM yclients.records WHERE company_id = :c"), {"c": COMPANY}
        ).scalar_one()
    assert stored == len(sandbox.state.day_records(COMPANY, date.fromisoformat(day)))


@pytest.mark.slow
def test_a_dead_run_worker_frees_the_records_pool_and_its_retry_finishes_the_batch(
    dagster_env: Path,
    engine: Engine,
    sandbox: Sandbox,
    sandbox_url: str,
    hook: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The real `dagster-daemon`: the webhook sensor launches a change-capture run; its worker is
    SIGKILLed inside the records step (holding the `yclients_records` pool's one slot). The run is
    failed, its slot freed, and the run retried: the retry succeeds and the batch's event is done."""
    _local_instance(dagster_env, poll_interval_seconds=2, free_slots_after_run_end_seconds=2)
    preload(sandbox_url, engine, (COMPANY,))
    first_id, first_new = _changed_visit(sandbox, 4)
    sandbox.faults.add(Fault("timeout", path=f"/records/{COMPANY}", delay=20))
    with dagster_instance():  # the fresh storage created once, before the daemon's processes race to
        pass
    log = (dagster_env / "daemon.log").open("wb")
    daemon = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", "workspace.yaml"],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _post(hook, event(first_id))
        with dg.DagsterInstance.get() as instance:
            _wait(lambda: sandbox.faults.injected >= 1, 300, "the sensor's run reached the records step")
            # The webhook batch's run: the companies sensor's catalogue runs, or the schedule's tick when
            # the test crosses :00 or :30, may be going beside it.
            (killed,) = instance.get_runs(
                dg.RunsFilter(
                    statuses=[dg.DagsterRunStatus.STARTED],
                    job_name="changes_job",
                    tags={"ycpipeline/trigger": "webhook"},
                )
            )
            pid = _worker_pid(instance, killed.run_id)
            assert pid is not None
            _kill_tree(pid)
            took = _wait(lambda: statuses(engine) == {"done": 1}, DEAD_RUN_BOUND_SECONDS, "the event done")
            runs = instance.get_runs(dg.RunsFilter(tags={BATCH_TAG: killed.tags[BATCH_TAG]}))
            retries = [r for r in runs if r.tags.get("dagster/parent_run_id") == killed.run_id]
            engine_messages = [
                e.message for e in instance.all_logs(killed.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)
            ]
            failure = instance.get_run_by_id(killed.run_id)
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            _kill_tree(daemon.pid)
        log.close()
    assert failure is not None and failure.status == dg.DagsterRunStatus.FAILURE
    # The retry says why: the killed run's own failure, and a link each way.
    assert any("was terminated by signal 9" in m for m in engine_messages), engine_messages
    assert "Retrying the run" in engine_messages
    assert [r.status for r in retries] == [dg.DagsterRunStatus.SUCCESS]
    # The batch waited for the retry instead of going back to the queue: the retry settled it.
    with engine.connect() as conn:
        assert (
            conn.execute(text("SELECT run_id FROM yclients.webhook_events")).scalar_one() == retries[0].run_id
        )
    assert _attendance(engine, first_id) == first_new
    with capsys.disabled():
        print(f"\ndead run worker: its webhook event done {took:.0f} s after the SIGKILL")
