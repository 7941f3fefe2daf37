"""The CLI's `check` and `sync-catalog` output, and fail-fast settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from ycpipeline.cli.main import app
from ycpipeline.sandbox import DEFAULT_PARTNER_TOKEN, DEFAULT_USER_TOKEN, Sandbox

runner = CliRunner()


def test_check_masks_tokens_and_reports_the_connection(dagster_env: Path, sandbox: Sandbox) -> None:
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 0, result.output
    assert "✅ YCLIENTS_API_TOKEN = sand…cdef" in result.output
    assert f"connection OK: {len(sandbox.state.services(235564))} services found" in result.output
    assert DEFAULT_PARTNER_TOKEN not in result.output and DEFAULT_USER_TOKEN not in result.output


def test_check_gives_401_guidance(dagster_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YCLIENTS_USER_TOKEN", "a-rotated-user-token-000111")
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 1
    assert "HTTP 401" in result.output and "without spaces" in result.output
    assert "a-rotated-user-token-000111" not in result.output


def test_sync_catalog_prints_counts(dagster_env: Path, engine: Engine, sandbox: Sandbox) -> None:
    result = runner.invoke(app, ["sync-catalog"])
    assert result.exit_code == 0, result.output
    assert f"services synced: created {2 * len(sandbox.state.services(235564))}, updated 0" in result.output
    assert "staff synced: created 20, updated 0" in result.output


def test_malformed_setting_fails_fast_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YCLIENTS_COMPANY_ID", "12a,b")
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 2
    assert (
        "YCLIENTS_COMPANY_ID" in result.output and "12a" not in result.output.split("YCLIENTS_COMPANY_ID")[0]
    )


def test_check_booking_sync_reports_matching(dagster_env: Path, engine: Engine, sandbox: Sandbox) -> None:
    from datetime import timedelta

    from ycpipeline.cli.runs import run_job, sync_window
    from ycpipeline.loyalty.seed import seed_demo_users
    from ycpipeline_tests.conftest import ANCHOR

    seed_demo_users(engine, seed=7)
    sync_window([235564], ANCHOR - timedelta(days=20), ANCHOR)
    run_job("ledger_job")
    result = runner.invoke(app, ["check-booking-sync"])
    assert result.exit_code == 0, result.output
    assert "✅ YCLIENTS_API_TOKEN configured" in result.output
    assert "users with a unique_code: 133 of 201" in result.output
    assert "ambiguous" in result.output and "last successful records sync: never" not in result.output
