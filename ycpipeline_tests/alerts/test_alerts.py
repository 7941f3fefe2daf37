"""Alerts end to end: incidents observed in the warehouse and in Dagster's storage go out once on every
configured channel (a loopback capture for the JSON webhook, Slack and a fake Telegram API; a test SMTP
server for email), once more when they end, and never with a secret in them. One test runs the real
`dagster-daemon`: a revoked token in a run launched from the CLI side is alerted by the daemon's sensors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
from dagster._core.instance.utils import RUNLESS_JOB_NAME, RUNLESS_RUN_ID
from sqlalchemy import Engine, text

from ycpipeline.cli.runs import run_job
from ycpipeline.client import PostgresBudget
from ycpipeline.defs.automation.planning import changes_runs
from ycpipeline.settings import mask
from ycpipeline_sandbox import DEFAULT_PARTNER_TOKEN, DEFAULT_USER_TOKEN, Fault, Sandbox
from ycpipeline_tests.support.alert_servers import Captured, http_capture, smtp_capture, wait_for
from ycpipeline_tests.support.helpers import definitions, event, execute, preload

ROOT = Path(__file__).resolve().parents[2]
BOT_TOKEN = "123456:telegram-bot-token-for-tests"
SMTP_PASSWORD = "smtp-password-for-tests-0099"
ROTATED = "a-new-user-token-after-rotation-4242"


@pytest.fixture
def captured(dagster_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Captured]:
    """Every channel configured, each pointing at a loopback server recording what it receives."""
    received = Captured()
    with http_capture(received) as base, smtp_capture(received) as smtp_port:
        for key, value in {
            "ALERTS_WEBHOOK_URL": f"{base}/hook",
            "ALERTS_SLACK_WEBHOOK_URL": f"{base}/slack",
            "ALERTS_TELEGRAM_BOT_TOKEN": BOT_TOKEN,
            "ALERTS_TELEGRAM_CHAT_ID": "-100500",
            "ALERTS_TELEGRAM_API_URL": base,
            "ALERTS_SMTP_URL": f"smtp://alerts:{SMTP_PASSWORD}@127.0.0.1:{smtp_port}",
            "ALERTS_EMAIL_TO": "data@example.com,ops@example.com",
            "ALERTS_DAGSTER_URL": "http://dagster.example:3000",
        }.items():
            monkeypatch.setenv(key, value)
        yield received


def _no_secret_in(captured: Captured) -> None:
    everything = captured.everything()
    for secret in (DEFAULT_PARTNER_TOKEN, DEFAULT_USER_TOKEN, ROTATED, BOT_TOKEN, SMTP_PASSWORD):
        assert secret not in everything


def _health_tick(instance: dg.DagsterInstance, cursor: str | None = None) -> str | None:
    defs = definitions()
    sensor = defs.resolve_sensor_def("alerts_health_sensor")
    with dg.build_sensor_context(
        instance=instance, resources=defs.resources, definitions=defs, cursor=cursor
    ) as context:
        sensor(context)
        return context.cursor


def _titles(bodies: list[dict[str, Any]]) -> list[str]:
    return [b["title"] for b in bodies]


def test_a_stuck_or_failed_webhook_queue_is_alerted_once_on_every_channel_scrubbed_and_once_on_recovery(
    captured: Captured, engine: Engine
) -> None:
    leaky = (
        f"the API refused Authorization: Bearer {DEFAULT_PARTNER_TOKEN}, User {DEFAULT_USER_TOKEN} "
        f"(user token {DEFAULT_USER_TOKEN})"
    )
    with engine.begin() as conn:
        conn.execute(
            text("""INSERT INTO yclients.webhook_events (company_id, resource, resource_id, action, body,
                        body_hash, received_at, status, reason)
                    VALUES (235564, 'record', 1, 'update', CAST(:b AS jsonb), 'h1', now() - interval '2 hours',
                            'pending', NULL),
                           (235565, 'record', 2, 'update', CAST(:b AS jsonb), 'h2', now(), 'failed', :leaky)"""),
            {"b": json.dumps(event(1)), "leaky": leaky},
        )
    stuck, failed = "Webhook events stuck for company 235564", "Webhook events failed for company 235565"
    with dg.instance_for_test() as instance:
        cursor = _health_tick(instance)
        cursor = _health_tick(instance, cursor)  # still stuck: nothing repeated
        hooks = captured.bodies("/hook")
        assert _titles(hooks) == [stuck, failed]
        assert hooks[0]["severity"] == "warning" and hooks[0]["company_id"] == 235564
        assert set(hooks[0]) == {"severity", "title", "text", "company_id", "asset", "check", "run_id", "url"}
        assert "ycpipeline webhook drain" in hooks[0]["text"]
        assert f"Bearer ****, User **** (user token {mask(DEFAULT_USER_TOKEN)})" in hooks[1]["text"]
        assert [b["text"].splitlines()[0] for b in captured.bodies("/slack")] == [f"*{stuck}*", f"*{failed}*"]
        telegram = captured.bodies(f"/bot{BOT_TOKEN}/sendMessage")
        assert [t["chat_id"] for t in telegram] == ["-100500", "-100500"]
        assert telegram[0]["text"].startswith(stuck)
        assert [m["Subject"] for m in captured.emails] == [f"[ycpipeline] {stuck}", f"[ycpipeline] {failed}"]
        assert captured.emails[0]["To"] == "data@example.com, ops@example.com"

        with engine.begin() as conn:
            conn.execute(text("UPDATE yclients.webhook_events SET status = 'done', processed_at = now()"))
        _health_tick(instance, cursor)
    hooks = captured.bodies("/hook")
    assert sorted(_titles(hooks)[2:]) == [f"Resolved: {failed}", f"Resolved: {stuck}"]
    assert {h["severity"] for h in hooks[2:]} == {"resolved"}
    assert len(captured.emails) == 4 and len(captured.bodies("/slack")) == 4
    # The telegram capture's path holds the bot token (as the real API's does); no body or email does.
    captured.posts = [(path.replace(BOT_TOKEN, "<bot>"), body) for path, body in captured.posts]
    captured.raw = [raw.replace(f"/bot{BOT_TOKEN}/", "/bot<bot>/") for raw in captured.raw]
    _no_secret_in(captured)


def _materialized(instance: dg.DagsterInstance, asset: str, seconds_ago: float) -> None:
    instance.report_dagster_event(
        DagsterEvent(
            event_type_value=DagsterEventType.ASSET_MATERIALIZATION.value,
            job_name=RUNLESS_JOB_NAME,
            event_specific_data=StepMaterializationData(dg.AssetMaterialization(asset)),
        ),
        run_id=RUNLESS_RUN_ID,
        timestamp=time.time() - seconds_ago,
    )


def test_a_stale_asset_and_a_failed_check_without_companies_are_alerted_and_recover(
    captured: Captured, engine: Engine
) -> None:
    key, name = dg.AssetKey("bonus_ledger"), "ledger_matches_owed"
    with dg.instance_for_test() as instance:
        _materialized(instance, "bonus_ledger", seconds_ago=2 * 3600)  # its policy fails after 45 min
        instance.report_runless_asset_event(
            dg.AssetCheckEvaluation(
                asset_key=key, check_name=name, passed=False, metadata={"violating_records": 3}
            )
        )
        cursor = _health_tick(instance)
        hooks = captured.bodies("/hook")
        assert sorted(_titles(hooks)) == [
            "Asset stale: bonus_ledger",
            "Check failed: ledger_matches_owed on bonus_ledger",
        ]
        check_alert = next(h for h in hooks if h["check"] == name)
        assert "First error: violating_records: 3." in check_alert["text"]
        stale = next(h for h in hooks if h["check"] is None)
        assert stale["url"] == "http://dagster.example:3000/assets/bonus_ledger"
        assert "last materialized 120 min ago; its freshness policy allows 60 min" in stale["text"]

        instance.report_runless_asset_event(dg.AssetMaterialization("bonus_ledger"))
        instance.report_runless_asset_event(
            dg.AssetCheckEvaluation(asset_key=key, check_name=name, passed=True)
        )
        _health_tick(instance, cursor)
    assert sorted(_titles(captured.bodies("/hook"))[2:]) == [
        "Resolved: Asset stale: bonus_ledger",
        "Resolved: Check failed: ledger_matches_owed on bonus_ledger",
    ]


def test_an_api_budget_paused_by_429s_past_the_bound_is_an_incident(
    captured: Captured, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALERTS_BUDGET_PAUSED_MINUTES", "5")
    PostgresBudget(engine, "api.yclients.com:443", 5, 200).hold_off(3600)
    seen_paused_long_ago = json.dumps(
        {"open": {}, "paused_since": {"api.yclients.com:443": "2000-01-01T00:00:00+00:00"}}
    )
    with dg.instance_for_test() as instance:
        first = _health_tick(instance)  # first sighting: paused, but not for long yet
        assert captured.bodies("/hook") == []
        assert first is not None and "api.yclients.com:443" in json.loads(first)["paused_since"]
        cursor = _health_tick(instance, seen_paused_long_ago)
        assert _titles(captured.bodies("/hook")) == [
            "YClients API budget paused by HTTP 429 (api.yclients.com:443)"
        ]
        with engine.begin() as conn:
            conn.execute(text("UPDATE yclients.api_budget SET paused_until = now() - interval '1 second'"))
        _health_tick(instance, cursor)
    assert (
        _titles(captured.bodies("/hook"))[1]
        == "Resolved: YClients API budget paused by HTTP 429 (api.yclients.com:443)"
    )


def _failed_checks(bodies: list[dict[str, Any]]) -> list[tuple[str | None, int | None]]:
    return sorted((b["check"], b["company_id"]) for b in bodies if b["severity"] == "critical" and b["check"])


def test_the_daemon_alerts_a_revoked_token_once_per_incident_and_once_on_recovery(
    captured: Captured,
    engine: Engine,
    sandbox: Sandbox,
    sandbox_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The real `dagster-daemon` watches; the runs are launched in-process (as `ycpipeline sync` does)."""
    monkeypatch.setenv("ALERTS_INTERVAL_SECONDS", "1")
    preload(sandbox_url, engine)
    # The catalogue read too, as a running deployment has it: else the companies sensor reads it at
    # once, with the rotated token, and those runs' incidents would wait for the nightly catalogue.
    run_job("catalog_job")
    log_path = captured_log = Path(os.environ["DAGSTER_HOME"]) / "daemon.log"
    log = captured_log.open("wb")
    daemon = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", "workspace.yaml"],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    (planned,) = changes_runs([[235564, 235565]], "cli")
    run = planned.run_request()
    started = time.monotonic()
    try:
        # Let the run status sensors take their starting point before the first failure.
        assert wait_for(lambda: "alerts_run_success_sensor" in log_path.read_text(), 60), (
            log_path.read_text()[-3000:]
        )
        sandbox.rotate_user_token(ROTATED)  # the configured user token is now rejected
        execute(run)
        assert wait_for(lambda: len(_failed_checks(captured.bodies("/hook"))) >= 2, 60), log_path.read_text()[
            -3000:
        ]
        execute(run)  # the same incidents, still open: nothing new
        monkeypatch.setenv("YCLIENTS_USER_TOKEN", ROTATED)  # the token is fixed
        execute(run)
        opened = [b for b in captured.bodies("/hook") if b["severity"] != "resolved"]
        assert wait_for(
            lambda: len([b for b in captured.bodies("/hook") if b["severity"] == "resolved"]) >= len(opened),
            60,
        ), log_path.read_text()[-3000:]
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.kill()
        log.close()
    hooks = captured.bodies("/hook")
    opened = [b for b in hooks if b["severity"] != "resolved"]
    resolved = [b for b in hooks if b["severity"] == "resolved"]
    failed_checks = _failed_checks(hooks)
    assert {("records_companies_ok", 235564), ("records_companies_ok", 235565)} <= set(failed_checks)
    assert len(set(failed_checks)) == len(failed_checks)  # each company's check once, however many runs
    assert len({b["title"] for b in opened}) == len(opened)  # one alert per incident
    assert sorted(b["title"] for b in resolved) == sorted(f"Resolved: {b['title']}" for b in opened)
    token_alert = next(b for b in opened if b["check"] == "records_companies_ok")
    assert "What to do" in token_alert["text"] and token_alert["url"].startswith(
        "http://dagster.example:3000/runs/"
    )
    assert len(captured.emails) == len(hooks) and len(captured.bodies("/slack")) == len(hooks)
    assert len(captured.bodies(f"/bot{BOT_TOKEN}/sendMessage")) == len(hooks)
    captured.raw = [raw.replace(f"/bot{BOT_TOKEN}/", "/bot<bot>/") for raw in captured.raw]
    _no_secret_in(captured)
    with capsys.disabled():
        print(
            f"\nalerts through dagster-daemon after {time.monotonic() - started:.0f} s: {len(opened)} opened, "
            f"{len(resolved)} resolved: " + "; ".join(b["title"] for b in opened)
        )


_ATTEMPTS: list[int] = []


@dg.asset(name="yclients_services")
def _services_that_fail_then_work() -> None:
    _ATTEMPTS.append(1)
    if len(_ATTEMPTS) == 1:
        raise RuntimeError(f"the API refused Bearer {DEFAULT_PARTNER_TOKEN}\nsecond line")


def test_a_failed_run_is_alerted_once_and_its_next_success_recovers_it(captured: Captured) -> None:
    defs = definitions()
    failure_sensor = defs.resolve_sensor_def("alerts_run_failure_sensor")
    success_sensor = defs.resolve_sensor_def("alerts_run_success_sensor")
    _ATTEMPTS.clear()
    with dg.instance_for_test() as instance:
        failed = dg.materialize([_services_that_fail_then_work], instance=instance, raise_on_error=False)
        assert not failed.success
        run = failed.dagster_run
        for _ in range(2):  # the same failure seen twice: one alert
            failure = dg.build_run_status_sensor_context(
                "alerts_run_failure_sensor", failed.get_run_failure_event(), instance, run
            ).for_run_failure()
            failure_sensor(failure)
        hooks = captured.bodies("/hook")
        assert _titles(hooks) == ["Run failed: __ephemeral_asset_job__"]
        assert hooks[0]["run_id"] == run.run_id and hooks[0]["url"].endswith(f"/runs/{run.run_id}")
        assert "First error: RuntimeError: the API refused Bearer ****." in hooks[0]["text"]
        assert "second line" not in hooks[0]["text"]

        worked = dg.materialize([_services_that_fail_then_work], instance=instance)
        success = worked.get_run_success_event()
        success_sensor(
            dg.build_run_status_sensor_context(
                "alerts_run_success_sensor", success, instance, worked.dagster_run
            )
        )
        success_sensor(
            dg.build_run_status_sensor_context(
                "alerts_run_success_sensor", success, instance, worked.dagster_run
            )
        )
    assert _titles(captured.bodies("/hook")) == [
        "Run failed: __ephemeral_asset_job__",
        "Resolved: Run failed: __ephemeral_asset_job__",
    ]
    captured.raw = [raw.replace(f"/bot{BOT_TOKEN}/", "/bot<bot>/") for raw in captured.raw]
    _no_secret_in(captured)


def test_a_failure_followed_by_a_success_of_the_same_kind_is_not_announced_late(
    dagster_env: Path, engine: Engine, sandbox: Sandbox, sandbox_url: str
) -> None:
    """The success sensor may resolve an incident before the failure sensor reaches an earlier failure;
    that failure is over and must not open a new incident."""
    from ycpipeline.defs.alerts.sensors import superseded

    preload(sandbox_url, engine)
    sandbox.faults.add(Fault("status", status=401, path="/records/", times=10_000))
    failed = run_job("changes_job", raise_on_error=False)
    with dg.DagsterInstance.get() as instance:
        first = instance.get_run_by_id(failed.run_id)
        assert first is not None and not superseded(instance, first)  # still failing: announce it
        sandbox.faults.clear()
        run_job("ledger_job")  # another kind of run succeeding changes nothing
        assert not superseded(instance, first)
        run_job("changes_job")
        assert superseded(instance, first)
