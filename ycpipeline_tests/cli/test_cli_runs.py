"""How the CLI drives Dagster: one run for a whole window of every company, a DAGSTER_HOME that several
commands may create at once, and a project-local instance with the production run queue and pools."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest
import yaml
from sqlalchemy import Engine, text

from ycpipeline.cli.runs import LOCAL_INSTANCE, ensure_dagster_home, sync_window
from ycpipeline.defs.partitions import group_keys, partition_changes
from ycpipeline_sandbox import Fault, Sandbox
from ycpipeline_tests.conftest import ANCHOR

ROOT = Path(__file__).resolve().parents[2]


def test_a_window_of_every_company_is_one_run(dagster_env: Path, engine: Engine, sandbox: Sandbox) -> None:
    start, end = ANCHOR - timedelta(days=9), ANCHOR
    totals = sync_window([235565, 235564], start, end)
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs()
    assert len(runs) == 1
    with engine.connect() as conn:
        stored = dict(
            conn.execute(text("SELECT company_id, count(*) FROM yclients.records GROUP BY 1")).all()
        )
    expected = {
        company: sum(len(sandbox.state.day_records(company, start + timedelta(days=d))) for d in range(10))
        for company in (235564, 235565)
    }
    assert stored == expected and totals["created"] == sum(expected.values())


def test_companies_that_are_not_neighbours_get_a_range_each() -> None:
    keys = ["235564", "235565", "235566"]
    assert group_keys(keys, [235565, 235564]) == [[235564, 235565]]
    assert group_keys(keys, [235566, 235564]) == [[235564], [235566]]
    assert group_keys(keys, [235565]) == [[235565]]
    with pytest.raises(ValueError, match="235999 is not tracked"):
        group_keys(keys, [235999])


def test_the_partitions_follow_the_tracked_companies() -> None:
    assert partition_changes(["235564", "235565"], [235565, 235566]) == (["235566"], ["235564"])
    assert partition_changes([], [235565, 235564, 235565]) == (["235564", "235565"], [])
    assert partition_changes(["235564"], [235564]) == ([], [])


def test_two_syncs_at_once_on_a_fresh_dagster_home(
    dagster_env: Path, engine: Engine, sandbox: Sandbox
) -> None:
    fresh = dagster_env.parent / "fresh_home"  # nothing in it: the first commands create the storage
    env = {**os.environ, "DAGSTER_HOME": str(fresh)}
    days = [(ANCHOR - timedelta(days=d)).isoformat() for d in (5, 3, 2, 0)]
    commands = [
        # One company each: a window is one run per company (a failing company fails only its own).
        [
            sys.executable,
            "-m",
            "ycpipeline.cli.main",
            "sync",
            "--company",
            "235564",
            "--from",
            first,
            "--to",
            last,
        ]
        for first, last in ((days[0], days[1]), (days[2], days[3]))
    ]
    procs = [
        subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for command in commands
    ]
    outputs = [p.communicate(timeout=180)[0].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    with dg.DagsterInstance.from_config(str(fresh)) as instance:
        assert len(instance.get_runs()) == 2


def test_project_local_instance_has_the_production_queue_and_pools(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    production = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    assert LOCAL_INSTANCE["run_coordinator"] == production["run_coordinator"]
    assert LOCAL_INSTANCE["concurrency"] == production["concurrency"]
    assert "storage" not in LOCAL_INSTANCE  # sqlite, Dagster's default, on one machine
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = ensure_dagster_home(tmp_path / "new_home")
    assert yaml.safe_load((home / "dagster.yaml").read_text()) == LOCAL_INSTANCE


def test_an_older_project_local_file_is_completed_not_clobbered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "old_home"
    home.mkdir()
    mine = {
        "telemetry": {"enabled": True},
        "concurrency": {"runs": {"max_concurrent_runs": 1}},
        "run_monitoring": {"enabled": True},
    }
    (home / "dagster.yaml").write_text(yaml.safe_dump(mine))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    ensure_dagster_home(home)
    upgraded = yaml.safe_load((home / "dagster.yaml").read_text())
    assert upgraded["telemetry"] == {"enabled": True}
    assert upgraded["run_monitoring"] == {**LOCAL_INSTANCE["run_monitoring"], "enabled": True}
    assert upgraded["concurrency"] == {"runs": {"max_concurrent_runs": 1}, "pools": {"default_limit": 1}}
    assert upgraded["run_coordinator"] == LOCAL_INSTANCE["run_coordinator"]
    # A DAGSTER_HOME the user set is theirs: left as it is.
    (home / "dagster.yaml").write_text(yaml.safe_dump(mine))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    ensure_dagster_home()
    assert yaml.safe_load((home / "dagster.yaml").read_text()) == mine
    (tmp_path / "probe").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "probe"), overrides=upgraded) as instance:
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"


def test_a_failing_company_does_not_stop_the_others(
    dagster_env: Path, engine: Engine, sandbox: Sandbox
) -> None:
    from ycpipeline.cli.runs import RunFailedError

    sandbox.faults.add(Fault("status", status=402, path="/records/235564", times=100))
    day = ANCHOR - timedelta(days=1)
    with pytest.raises(RunFailedError, match="licence"):
        sync_window([235564, 235565], day, day)
    with engine.connect() as conn:
        stored = dict(
            conn.execute(text("SELECT company_id, count(*) FROM yclients.records GROUP BY 1")).all()
        )
    assert stored == {235565: len(sandbox.state.day_records(235565, day))}  # loaded after the first failed


def test_check_says_which_budget_it_draws_on(dagster_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from ycpipeline.cli.main import app

    shared = CliRunner().invoke(app, ["check"])
    assert shared.exit_code == 0, shared.output
    assert "API budget: shared in the warehouse (key 127.0.0.1:" in shared.output
    monkeypatch.delenv("WAREHOUSE_URL")
    alone = CliRunner().invoke(app, ["check"])
    assert alone.exit_code == 0, alone.output  # the live call runs before the warehouse exists
    assert "API budget: process-local (WAREHOUSE_URL is not set)" in alone.output
    assert "connection OK" in alone.output
