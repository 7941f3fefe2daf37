"""The CLI's output, fail-fast settings, and errors that end in one line with a non-zero exit."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from ycpipeline.cli.main import app
from ycpipeline_sandbox import DEFAULT_PARTNER_TOKEN, DEFAULT_USER_TOKEN, Sandbox

runner = CliRunner()


def test_check_masks_tokens_and_reports_the_connection(dagster_env: Path, sandbox: Sandbox) -> None:
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 0, result.output
    assert "✅ YCLIENTS_API_TOKEN = sand…\n" in result.output  # 4 characters at most
    assert "✅ warehouse reachable; loyalty.app_users has what the ledger reads" in result.output
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
    for company in (235564, 235565):
        created = len(sandbox.state.services(company))
        assert f"services of company {company}: created {created}, updated 0" in result.output
    staff = [
        int(line.split("created ")[1].split(",")[0])
        for line in result.output.splitlines()
        if "staff of" in line
    ]
    assert len(staff) == 2 and sum(staff) == 20


def test_malformed_setting_fails_fast_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YCLIENTS_COMPANY_ID", "12a,b")
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 2
    assert (
        "YCLIENTS_COMPANY_ID" in result.output and "12a" not in result.output.split("YCLIENTS_COMPANY_ID")[0]
    )


def test_check_booking_sync_reports_matching(dagster_env: Path, engine: Engine, sandbox: Sandbox) -> None:
    from datetime import timedelta

    from ycpipeline.cli.demo_users import seed_demo_users
    from ycpipeline.cli.runs import run_job, sync_window
    from ycpipeline_tests.conftest import ANCHOR

    seed_demo_users(engine, seed=7)
    sync_window([235564], ANCHOR - timedelta(days=20), ANCHOR)
    run_job("ledger_job")
    result = runner.invoke(app, ["check-booking-sync"])
    assert result.exit_code == 0, result.output
    assert "✅ YCLIENTS_API_TOKEN configured" in result.output
    assert "users with a unique_code: 133 of 201" in result.output
    assert "ambiguous" in result.output and "last successful records sync: never" not in result.output


def _one_error_line(output: str) -> str:
    """The output's last line, which must be the error, with no traceback anywhere."""
    assert "Traceback" not in output and 'File "' not in output, output
    last = output.strip().splitlines()[-1]
    assert last.startswith("❌ "), output
    return last


def test_sync_before_the_history_starts_is_one_clear_line(dagster_env: Path, engine: Engine) -> None:
    result = runner.invoke(app, ["sync", "--from", "2020-01-01", "--to", "2020-01-31"])
    assert result.exit_code == 1 and result.output.count("\n") == 1
    line = _one_error_line(result.output)
    assert "--from 2020-01-01 is before RECORDS_START_DATE 2024-01-01" in line


def test_sync_of_a_company_not_tracked_is_one_clear_line(dagster_env: Path, engine: Engine) -> None:
    result = runner.invoke(app, ["sync", "--company", "999", "--from", "2026-01-01", "--to", "2026-01-02"])
    assert result.exit_code == 1
    line = _one_error_line(result.output)
    assert "company 999 is not tracked (235564, 235565): ycpipeline companies add 999" in line


def test_companies_add_refuses_what_cannot_be_a_company_id(dagster_env: Path, engine: Engine) -> None:
    for bad in ("0", "-5", str(2**63)):
        result = runner.invoke(app, ["companies", "add", "--", bad])
        assert result.exit_code != 0, (bad, result.output)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM yclients.tracked_companies")).scalar_one() == 0


def test_a_company_yclients_does_not_know_is_one_clear_line(
    dagster_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YCLIENTS_COMPANY_ID", "999999")
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 1
    assert "HTTP 404" in _one_error_line(result.output)


def test_a_malformed_warehouse_url_fails_fast_naming_it(
    dagster_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WAREHOUSE_URL", "postgres:/ycpipeline:pa55word@localhost")
    for command in (["db", "upgrade"], ["check-booking-sync"], ["sync-catalog"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, command
        line = _one_error_line(result.output)
        assert "WAREHOUSE_URL" in line and "pa55word" not in result.output


def test_an_unreachable_warehouse_is_one_clear_line_and_debug_shows_the_traceback(
    dagster_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ycpipeline.serving import free_port

    monkeypatch.setenv("WAREHOUSE_URL", f"postgresql+psycopg://ycp:pa55word@127.0.0.1:{free_port()}/nowhere")
    for command in (["db", "upgrade"], ["check-booking-sync"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 1, command
        line = _one_error_line(result.output)
        assert "cannot reach the warehouse" in line and "pa55word" not in result.output
    checked = runner.invoke(app, ["check"])  # the settings and YClients are fine, the warehouse is not
    assert checked.exit_code == 1 and "❌ warehouse: cannot reach the warehouse" in checked.output
    debug = runner.invoke(app, ["--debug", "db", "upgrade"])
    assert debug.exit_code != 0
    from sqlalchemy.exc import OperationalError

    assert isinstance(debug.exception, OperationalError)


def test_an_unexpected_error_is_one_line_too(dagster_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ycpipeline.cli.runs

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("division by zero\nsecond line")

    monkeypatch.setattr(ycpipeline.cli.runs, "run_job", broken)
    result = runner.invoke(app, ["sync-catalog"])
    assert result.exit_code == 1
    assert _one_error_line(result.output) == (
        "❌ unexpected error (ZeroDivisionError): division by zero (run with --debug for the traceback)"
    )


def test_check_and_db_upgrade_verify_the_app_users_table(dagster_env: Path, engine: Engine) -> None:
    from sqlalchemy import text

    with engine.begin() as conn:  # the app changed its table after our migrations ran
        conn.execute(text("ALTER TABLE loyalty.app_users RENAME COLUMN phone TO phone_number"))
    try:
        upgraded = runner.invoke(app, ["db", "upgrade"])
        checked = runner.invoke(app, ["check"])
    finally:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE loyalty.app_users RENAME COLUMN phone_number TO phone"))
    assert upgraded.exit_code == 1
    fix = "ALTER TABLE loyalty.app_users ADD COLUMN phone text"
    assert fix in _one_error_line(upgraded.output)
    assert checked.exit_code == 1 and fix in checked.output


def test_a_real_process_prints_no_traceback(dagster_env: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "ycpipeline.cli.main", "sync", "--from", "2020-01-01", "--to", "2020-01-02"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "RECORDS_START_DATE" in done.stderr, done.stderr


def test_a_warehouse_without_the_schema_says_to_upgrade(
    dagster_env: Path, warehouse_url: str, worker_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ycpipeline_tests.support.databases import scratch_database

    with scratch_database(warehouse_url, f"ycp_{worker_id}_unmigrated") as url:
        monkeypatch.setenv("WAREHOUSE_URL", url)
        result = runner.invoke(app, ["check-booking-sync"])
    assert result.exit_code == 1
    assert "run `ycpipeline db upgrade`" in _one_error_line(result.output)


def test_every_command_and_sub_command_ends_errors_in_one_line() -> None:
    import typer

    from ycpipeline.cli.errors import OneLineErrorsTyper

    with pytest.raises(TypeError, match="OneLineErrorsTyper"):
        OneLineErrorsTyper().add_typer(typer.Typer(), name="plain")
    for group in [app, *(info.typer_instance for info in app.registered_groups)]:
        assert group.registered_commands
        for command in group.registered_commands:
            assert command.callback is not None and hasattr(command.callback, "__wrapped__"), command.name
