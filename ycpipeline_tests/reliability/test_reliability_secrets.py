"""Secrets never leave: CLI output, logs, exceptions, Dagster's event log, run configs and every file
Dagster wrote are scanned for the configured token and secret values."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import dagster as dg
import httpx
import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from ycpipeline.cli.main import app
from ycpipeline.cli.runs import RunFailedError, run_job, sync_window
from ycpipeline.serving import serve_in_thread
from ycpipeline.webhooks.receiver import WEBHOOK_PATH, create_receiver
from ycpipeline_sandbox import Fault, Sandbox
from ycpipeline_tests.conftest import ANCHOR

PARTNER = "PARTNERtoken7c1e9a0b55d24f"
USER = "USERtoken0f3b8d7e6a2c91"
HOOK = "HOOKsecret5e4d3c2b1a0f99"
ROTATED = "ROTATEDtoken1a2b3c4d5e6f7"


def test_no_secret_appears_anywhere(
    dagster_env: Path,
    engine: Engine,
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    sandbox.config.partner_token, sandbox.config.user_token = PARTNER, USER
    for key, value in {
        "YCLIENTS_API_TOKEN": PARTNER,
        "YCLIENTS_USER_TOKEN": USER,
        "YCLIENTS_WEBHOOK_SECRET": HOOK,
    }.items():
        monkeypatch.setenv(key, value)
    seen: list[str] = []
    runner = CliRunner()
    for args in (["check"], ["sync-catalog"], ["check-booking-sync"]):
        seen.append(runner.invoke(app, args).output)
    sync_window([235564], ANCHOR - timedelta(days=3), ANCHOR)
    sandbox.faults.add(Fault("status", status=500, times=2, path="/records/"))  # retried, logged
    sync_window([235564], ANCHOR - timedelta(days=3), ANCHOR)
    sandbox.rotate_user_token(ROTATED)  # the old user token is now rejected
    with pytest.raises(RunFailedError) as failed:
        sync_window([235564], ANCHOR - timedelta(days=3), ANCHOR)
    seen.append(str(failed.value))
    seen.append(runner.invoke(app, ["check"]).output)
    receiver = create_receiver(engine, HOOK)
    with serve_in_thread(receiver) as base:
        seen.append(httpx.post(f"{base}{WEBHOOK_PATH}/wrong", json={}).text)
        seen.append(httpx.post(f"{base}{WEBHOOK_PATH}/{HOOK}", content=b"nope").text)
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs()
        assert len(runs) >= 4
        for run in runs:
            seen.append(repr(run.run_config) + repr(run.tags))
            seen.extend(repr(entry) for entry in instance.all_logs(run.run_id))
        run_job("ledger_job")
    seen.append(caplog.text)
    seen.extend(p.read_bytes().decode("utf-8", "replace") for p in dagster_env.rglob("*") if p.is_file())
    with engine.connect() as conn:  # what the receiver kept: the queue and the dead letters
        seen.extend(
            str(row)
            for table in ("yclients.webhook_events", "yclients.rejected_rows")
            for row in conn.execute(text(f"SELECT * FROM {table}"))
        )
    everything = "\n".join(seen)
    assert "HTTP 401" in everything  # the failure was really exercised
    hits = {secret: everything.count(secret) for secret in (PARTNER, USER, HOOK)}
    assert hits == {PARTNER: 0, USER: 0, HOOK: 0}
