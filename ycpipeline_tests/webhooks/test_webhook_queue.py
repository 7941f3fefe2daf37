"""The webhook queue end to end: receivers → `yclients.webhook_events` → sensor ticks (Dagster's sensor
testing API) → the requested change-capture runs (in-process, as the daemon launches them) → settled
events. Nothing leaves `pending` before a run covering it succeeded; nothing is done twice; hostile
events never stop sound ones. One test runs the real `dagster-daemon`."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from ycpipeline.cli.main import app
from ycpipeline.serving import serve_in_thread
from ycpipeline.webhooks.receiver import WEBHOOK_PATH, create_receiver
from ycpipeline_sandbox import Fault, Sandbox
from ycpipeline_sandbox.webhooks import WebhookEmitter
from ycpipeline_tests.conftest import ANCHOR
from ycpipeline_tests.support.helpers import event, execute, preload, requests_of, sensor_tick, statuses

SECRET = "queue-secret-5a6b7c8d9e"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def hook(engine: Engine) -> Any:
    """The receiver's URL (secret included), writing into the test warehouse's queue."""
    with serve_in_thread(create_receiver(engine, SECRET)) as base:
        yield f"{base}{WEBHOOK_PATH}/{SECRET}"


def _post(url: str, body: Any) -> dict[str, int]:
    # json.dumps writes a lone surrogate as its escape (`\ud83d`), as a sender's JSON library would.
    response = httpx.post(
        url, content=json.dumps(body), headers={"content-type": "application/json"}, timeout=30
    )
    assert response.status_code == 200, response.text
    return response.json()


def _visits(sandbox: Sandbox, company: int, days_back: int, n: int) -> list[dict[str, Any]]:
    return [
        r for r in sandbox.state.day_records(company, ANCHOR - timedelta(days=days_back)) if not r["deleted"]
    ][:n]


def _attendance(engine: Engine, record_id: int) -> int | None:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT attendance FROM yclients.records WHERE record_id = :r"), {"r": record_id}
        ).scalar()


def _events(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                text("""SELECT id, company_id, resource, resource_id, status, reason, attempts, run_id, batch_id,
                               processed_at, body FROM yclients.webhook_events ORDER BY id""")
            )
        )


def _work_until_settled(instance: dg.DagsterInstance, engine: Engine, ticks: int = 6) -> list[str | None]:
    """Tick the sensor and run what it requests until a tick requests nothing and nothing is claimed."""
    failures = []
    for _ in range(ticks):
        requests = requests_of(sensor_tick(instance))
        if not requests and not _claimed(engine):
            return failures
        failures.extend(execute(r) for r in requests)
    raise AssertionError(f"the queue did not settle in {ticks} ticks: {statuses(engine)}")


def _claimed(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT count(*) FROM yclients.webhook_events WHERE batch_id IS NOT NULL AND status = 'pending'"
            )
        ).scalar_one()


def test_hostile_events_in_one_burst_never_stop_the_sound_ones(
    dagster_env: Path, engine: Engine, sandbox: Sandbox, sandbox_url: str, hook: str
) -> None:
    preload(sandbox_url, engine)
    sound = _visits(sandbox, 235564, 30, 3) + _visits(sandbox, 235565, 50, 2)
    for record in sound:
        sandbox.state.set_attendance(
            record["company_id"], record["id"], -1 if record["attendance"] == 1 else 1
        )
    deleted = _visits(sandbox, 235564, 12, 1)[0]
    sandbox.state.delete_record(235564, deleted["id"])
    far = ANCHOR + timedelta(days=400)
    hostile: list[dict[str, Any]] = [
        {**event(sound[0]["id"]), "note": "NUL\x00", "data": {"comment": "half \ud83d emoji"}},
        event(2**63),
        {**event(5), "company_id": 2**64},
        event(-7),
        {**event(5), "resource": "teleport"},
        {**event(5), "resource": "goods_operations_sale"},
        {**event(5), "resource": "client"},
        event(77, company=999_999),
        event(78, datetime="2019-03-01T10:00:00+03:00"),
        event(79, datetime=f"{far}T10:00:00+03:00"),
    ]
    bodies = [
        [*hostile[:4], event(sound[1]["id"])],
        [event(sound[2]["id"]), *hostile[4:]],
        [event(r["id"], r["company_id"]) for r in sound[3:]],
        event(deleted["id"], action="delete"),
    ]
    answers = [_post(hook, body) for body in bodies]
    assert sum(a["accepted"] for a in answers) == 12 and sum(a["rejected"] for a in answers) == 3
    with dg.DagsterInstance.get() as instance:
        assert _work_until_settled(instance, engine) == [None, None]  # one run per company
    by_resource_id = {(e.resource, e.resource_id, e.company_id): e for e in _events(engine)}
    for record in [*sound, deleted]:
        assert by_resource_id[("record", record["id"], record["company_id"])].status == "done"
    for record in sound:  # the NUL and half-emoji event carried the first one
        assert (
            _attendance(engine, record["id"])
            == sandbox.state.get_record(record["company_id"], record["id"])["attendance"]
        )
    with engine.connect() as conn:
        assert conn.execute(
            text("SELECT deleted FROM yclients.records WHERE record_id = :r"), {"r": deleted["id"]}
        ).scalar_one()
    ignored = sorted(e.reason for e in _events(engine) if e.status == "ignored")
    assert ignored == sorted(
        [
            "unknown resource 'teleport'",
            "resource 'goods_operations_sale' is not synced",
            "company 999999 is not tracked (ycpipeline companies add 999999)",
            "visit date 2019-03-01 is before RECORDS_START_DATE 2024-01-01",
        ]
    )
    far_event = by_resource_id[("record", 79, 235564)]
    assert far_event.status == "done"  # a far-future visit is no reason to ignore: change capture stores it
    # A `client` event is synced: its client is re-read in the same run (marts/test_marts.py).
    assert by_resource_id[("client", 5, 235564)].status == "done"
    assert statuses(engine) == {"done": 8, "ignored": 4}
    with engine.connect() as conn:
        refused = conn.execute(
            text("SELECT count(*) FROM yclients.rejected_rows WHERE entity = 'webhook'")
        ).scalar_one()
    assert refused == 3


def _ready_now(engine: Engine) -> None:
    """Skip the backoff of events waiting to be tried again (the test does not wait minutes)."""
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE yclients.webhook_events SET next_attempt_at = now() WHERE batch_id IS NULL")
        )


def test_a_failed_run_leaves_its_events_pending_and_a_later_success_clears_them(
    dagster_env: Path,
    engine: Engine,
    sandbox: Sandbox,
    sandbox_url: str,
    hook: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    preload(sandbox_url, engine)
    record = _visits(sandbox, 235564, 20, 1)[0]
    sandbox.state.set_attendance(235564, record["id"], 2)
    _post(hook, event(record["id"]))
    with dg.DagsterInstance.get() as instance:
        (request,) = requests_of(sensor_tick(instance))
        with monkeypatch.context() as broken:  # the run cannot reach the warehouse: it fails
            broken.setenv("WAREHOUSE_URL", "postgresql+psycopg://nobody@127.0.0.1:9/nowhere")
            assert execute(request) is not None
        assert not requests_of(sensor_tick(instance))  # settled; the retry waits for its backoff
        (waiting,) = _events(engine)
        assert (waiting.status, waiting.attempts, waiting.batch_id) == ("pending", 1, None)
        assert waiting.reason.startswith("run ") and "failed" in waiting.reason and waiting.run_id
        assert _attendance(engine, record["id"]) != 2
        _ready_now(engine)
        (again,) = requests_of(sensor_tick(instance))
        assert again.run_key != request.run_key
        assert execute(again) is None
        assert not requests_of(sensor_tick(instance))
    (done,) = _events(engine)
    assert (done.status, done.attempts, done.reason) == ("done", 1, None)
    assert _attendance(engine, record["id"]) == 2


def test_a_failing_company_keeps_only_its_own_events_pending(
    dagster_env: Path,
    engine: Engine,
    sandbox: Sandbox,
    sandbox_url: str,
    hook: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WEBHOOK_MAX_ATTEMPTS", "1")
    preload(sandbox_url, engine)
    ours, theirs = _visits(sandbox, 235564, 9, 1)[0], _visits(sandbox, 235565, 9, 1)[0]
    _post(hook, [event(ours["id"]), event(theirs["id"], 235565)])
    sandbox.faults.add(Fault("status", status=401, path="/235565", times=10_000))
    with dg.DagsterInstance.get() as instance:
        # One run per company, each its own partition: one company's failure is its run's alone.
        requests = {r.tags["dagster/partition"]: r for r in requests_of(sensor_tick(instance))}
        assert set(requests) == {"235564", "235565"}
        assert execute(requests["235564"]) is None
        assert "company 235565" in (execute(requests["235565"]) or "")
        assert not requests_of(sensor_tick(instance))
        by_company = {e.company_id: e for e in _events(engine)}
        assert by_company[235564].status == "done"
        failed = by_company[235565]
        assert (failed.status, failed.attempts) == ("failed", 1)  # WEBHOOK_MAX_ATTEMPTS reached
        assert "HTTP 401" in failed.reason
        sandbox.faults.clear()
        _ready_now(engine)  # a failed event is still retried (every 6 hours)
        (retry,) = requests_of(sensor_tick(instance))
        assert retry.tags["dagster/partition"] == "235565"
        assert execute(retry) is None
        assert not requests_of(sensor_tick(instance))
    assert statuses(engine) == {"done": 2}


def test_a_burst_for_one_company_never_has_two_runs_of_it_and_loses_none(
    dagster_env: Path, engine: Engine, sandbox: Sandbox, sandbox_url: str, hook: str
) -> None:
    """Events keep arriving for one salon while its run is queued: they wait for its next batch, so the
    salon never has two change-capture runs from the queue at once, and every event ends done."""
    preload(sandbox_url, engine)
    visits = _visits(sandbox, 235564, 9, 6)
    _post(hook, [event(v["id"]) for v in visits[:2]])
    with dg.DagsterInstance.get() as instance:
        (first,) = requests_of(sensor_tick(instance))
        for visit in visits[2:]:  # the burst goes on while the first run waits in the queue
            _post(hook, event(visit["id"]))
            assert not requests_of(sensor_tick(instance)), "a second run of the same company"
        assert statuses(engine) == {"pending": 6}
        assert execute(first) is None
        (second,) = requests_of(sensor_tick(instance))  # settles the first batch, claims the rest
        assert second.tags["dagster/partition"] == "235564" and second.run_key != first.run_key
        assert statuses(engine) == {"done": 2, "pending": 4}
        assert execute(second) is None
        assert not requests_of(sensor_tick(instance))
    assert statuses(engine) == {"done": 6}


def test_a_claim_whose_run_never_appeared_goes_back_to_the_queue(
    dagster_env: Path, engine: Engine, hook: str
) -> None:
    _post(hook, event(1, action="delete"))
    with dg.DagsterInstance.get() as instance:
        (lost,) = requests_of(sensor_tick(instance))  # the daemon never launches it
        assert not requests_of(sensor_tick(instance))  # claimed recently: left alone
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE yclients.webhook_events SET claimed_at = claimed_at - interval '11 minutes'")
            )
        (again,) = requests_of(sensor_tick(instance))
    assert again.run_key != lost.run_key and again.tags["dagster/partition"] == "235564"
    config = again.run_config["ops"]["yclients_records"]["config"]
    assert config == {"reread_record_ids": {"235564": [1]}}
    (pending,) = _events(engine)
    assert (pending.status, pending.attempts, pending.batch_id) == ("pending", 0, again.run_key)


def test_many_posters_two_receivers_and_a_ticking_sensor_do_every_event_exactly_once(
    dagster_env: Path, engine: Engine, sandbox: Sandbox, sandbox_url: str
) -> None:
    preload(sandbox_url, engine)
    records = [(c, r["id"]) for c in (235564, 235565) for d in (3, 17, 44) for r in _visits(sandbox, c, d, 4)]
    accepted = [0]
    lock = threading.Lock()
    stop = threading.Event()
    with (
        serve_in_thread(create_receiver(engine, SECRET)) as first,
        serve_in_thread(create_receiver(engine.url.render_as_string(hide_password=False), SECRET)) as second,
    ):

        def poster(n: int) -> None:
            rng = random.Random(n)
            base = (first, second)[n % 2]  # two receivers, one queue
            with httpx.Client(timeout=30) as http:
                while not stop.is_set():
                    body = [event(r, c) for c, r in rng.sample(records, rng.randint(1, 4))]
                    answer = http.post(f"{base}{WEBHOOK_PATH}/{SECRET}", json=body)
                    assert answer.status_code == 200
                    with lock:
                        accepted[0] += answer.json()["accepted"]
                    time.sleep(rng.uniform(0, 0.1))

        with dg.DagsterInstance.get() as instance, ThreadPoolExecutor(max_workers=8) as pool:
            posters = [pool.submit(poster, n) for n in range(8)]
            runs = 0
            deadline = time.monotonic() + 120
            while runs < 3 and time.monotonic() < deadline:  # the sensor ticks while the posters post
                for request in requests_of(sensor_tick(instance)):
                    assert execute(request) is None
                    runs += 1
            stop.set()
            for p in posters:
                p.result()
            _work_until_settled(instance, engine)
    events = _events(engine)
    assert len(events) == accepted[0] > 100
    assert {e.status for e in events} == {"done"} and all(e.processed_at is not None for e in events)
    assert len({e.id for e in events}) == len(events)
    with dg.DagsterInstance.get() as instance:  # each event's batch has exactly one run, and it succeeded
        for batch_id in {e.batch_id for e in events}:
            found = instance.get_run_records(dg.RunsFilter(tags={"ycpipeline/webhook-batch": batch_id}))
            assert [r.dagster_run.status for r in found] == [dg.DagsterRunStatus.SUCCESS]
            assert {e.run_id for e in events if e.batch_id == batch_id} == {found[0].dagster_run.run_id}
    assert runs >= 3  # batches ran while events kept arriving


def test_each_company_of_an_unsorted_list_gets_its_own_partitions_run(
    dagster_env: Path,
    engine: Engine,
    sandbox: Sandbox,
    sandbox_url: str,
    hook: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("YCLIENTS_COMPANY_ID", "235565,235564")
    preload(sandbox_url, engine)
    recent, older = _visits(sandbox, 235565, 1, 1)[0], _visits(sandbox, 235564, 55, 1)[0]
    for record in (recent, older):
        sandbox.state.set_attendance(record["company_id"], record["id"], -1)
    _post(hook, [event(recent["id"], 235565), event(older["id"], 235564)])
    with dg.DagsterInstance.get() as instance:
        requests = requests_of(sensor_tick(instance))
        # One change-capture run per company, on its own partition: never a range over others.
        assert sorted(r.tags["dagster/partition"] for r in requests) == ["235564", "235565"]
        assert not any("dagster/asset_partition_range_start" in r.tags for r in requests)
        assert [execute(r) for r in requests] == [None, None]
        assert not requests_of(sensor_tick(instance))
    assert statuses(engine) == {"done": 2}
    assert _attendance(engine, recent["id"]) == _attendance(engine, older["id"]) == -1


def test_drain_processes_every_pending_event_once_and_counts_by_status(
    dagster_env: Path, engine: Engine, sandbox: Sandbox, sandbox_url: str, hook: str
) -> None:
    preload(sandbox_url, engine)
    record = _visits(sandbox, 235564, 6, 1)[0]
    sandbox.state.set_attendance(235564, record["id"], 2)
    _post(hook, [event(record["id"]), event(8, 235565), event(9, 424242)])
    sandbox.faults.add(Fault("status", status=503, path="/records/235565", times=10_000))
    runner = CliRunner()
    first = runner.invoke(app, ["webhook", "drain"])
    assert first.exit_code == 1, first.output
    assert "webhook events: pending 1, done 1, ignored 1, failed 0" in first.output
    sandbox.faults.clear()
    second = runner.invoke(app, ["webhook", "drain"])  # the retry is due later: a drain does not wait
    assert second.exit_code == 0, second.output
    assert "webhook events: pending 0, done 2, ignored 1, failed 0" in second.output
    assert _attendance(engine, record["id"]) == 2


def test_old_done_and_ignored_events_are_pruned(dagster_env: Path, engine: Engine, hook: str) -> None:
    _post(hook, [event(1), event(2), event(3, 777), {**event(4), "resource": "weather"}])
    with engine.begin() as conn:
        conn.execute(
            text("""UPDATE yclients.webhook_events SET status = 'done', processed_at = now() - interval '31 days'
                    WHERE resource_id = 1""")
        )
        conn.execute(
            text("""UPDATE yclients.webhook_events SET processed_at = now() - interval '31 days'
                    WHERE resource_id = 4""")
        )
    with dg.instance_for_test() as instance:
        sensor_tick(instance)
    left = {(e.resource_id, e.status) for e in _events(engine)}
    assert left == {(2, "pending"), (3, "ignored")}  # 2 is claimed for its run; 1 and 4 were old


def test_the_dagster_daemon_carries_a_posted_event_to_the_warehouse(
    dagster_env: Path, engine: Engine, sandbox: Sandbox, sandbox_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real thing: `dagster-daemon` (sensor, run launcher) against this workspace, a receiver, a
    change in the sandbox that YClients would announce with a webhook."""
    preload(sandbox_url, engine)
    record = _visits(sandbox, 235564, 4, 1)[0]
    new = -1 if record["attendance"] == 1 else 1
    log = (dagster_env / "daemon.log").open("wb")
    daemon = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", "workspace.yaml"],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        with serve_in_thread(create_receiver(engine, SECRET)) as base:
            emitter = WebhookEmitter(f"{base}{WEBHOOK_PATH}/{SECRET}")
            sandbox.state.listeners.append(emitter)
            started = time.monotonic()
            sandbox.state.set_attendance(235564, record["id"], new)
            emitter.flush()
            emitter.close()
            assert emitter.delivered == 1
            fresh_after = None
            while time.monotonic() - started < 150 and daemon.poll() is None:
                if fresh_after is None and _attendance(engine, record["id"]) == new:
                    fresh_after = time.monotonic() - started
                if statuses(engine) == {"done": 1}:  # settled by the tick after the run
                    break
                time.sleep(0.5)
            done_after = time.monotonic() - started
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.kill()
        log.close()
    assert statuses(engine) == {"done": 1}, (dagster_env / "daemon.log").read_text()[-3000:]
    assert _attendance(engine, record["id"]) == new
    with capsys.disabled():
        print(
            f"\ndagster-daemon: webhook → warehouse {fresh_after:.1f} s, event done after {done_after:.1f} s"
        )
