"""The code location loads, and its jobs materialize for real against the sandbox and Postgres."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import Engine, text

from ycpipeline.cli.runs import RunFailedError, check_metadata, failure_message, run_job
from ycpipeline_sandbox import Fault, Sandbox
from ycpipeline_tests.conftest import ANCHOR


def _defs() -> dg.Definitions:
    from ycpipeline.definitions import defs

    return defs()


def test_code_location_loads_whole(dagster_env: Path) -> None:
    defs = _defs()
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == {
        "yclients_services",
        "yclients_staff",
        "yclients_records",
        "bonus_ledger",
        "bonus_expiry",
        "app_users",
        "rejected_rows",
        "yclients_service_categories",
        "yclients_payment_accounts",
        "yclients_clients",
        "yclients_client_changes",
        "yclients_cash_ledger",
        "yclients_goods_transactions",
        "yclients_staff_schedules",
        "branch_daily",
        "staff_utilization_daily",
        "client_lifecycle",
        "loyalty_liability",
    }
    # One records asset, partitioned by company (salon), like every asset that reads the API.
    per_company = {k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).partitions_def}
    assert per_company == {k for k in keys if k.startswith("yclients_")}
    for key in per_company:
        assert graph.get(dg.AssetKey(key)).partitions_def == dg.DynamicPartitionsDefinition(name="companies")
    for name in ("catalog_job", "sync_job", "ledger_job", "changes_job", "nightly_streams_job"):
        assert defs.resolve_job_def(name).description


def test_partitions_are_the_tracked_companies(dagster_env: Path, engine: Engine) -> None:
    from ycpipeline.cli.runs import company_partition_keys

    assert company_partition_keys() == ["235564", "235565"]  # seeded from YCLIENTS_COMPANY_ID
    with dg.DagsterInstance.get() as instance:
        partitions = _defs().resolve_assets_def("yclients_records").partitions_def
        assert partitions is not None
        assert partitions.get_partition_keys(dynamic_partitions_store=instance) == ["235564", "235565"]


def test_dg_check_defs_passes(dagster_env: Path) -> None:
    """Dagster's own check of the project (`[tool.dg]` in pyproject.toml), as a developer runs it."""
    venv = Path(sys.executable).parent
    done = subprocess.run(
        [str(venv / "dg"), "check", "defs"],
        cwd=Path(__file__).parents[2],
        env={**os.environ, "VIRTUAL_ENV": str(venv.parent)},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All definitions loaded successfully" in done.stdout + done.stderr


def test_catalog_job_materializes_both_assets(dagster_env: Path, engine: Engine, sandbox: Sandbox) -> None:
    result = run_job("catalog_job")
    # One materialization per salon's partition, each with that salon's own counts and rows.
    services = {
        e.materialization.partition: e.materialization.metadata
        for e in result.get_asset_materialization_events()
        if e.materialization.asset_key == dg.AssetKey("yclients_services")
    }
    assert set(services) == {"235564", "235565"}
    for company, metadata in services.items():
        listed = len(sandbox.state.services(int(company)))
        assert metadata["created"].value == metadata["dagster/row_count"].value == listed
    staff = check_metadata(result, "staff_companies_ok")["by_company_json"]
    assert sum(row["created"] for row in staff.values()) == 20
    with dg.DagsterInstance.get() as instance:  # the run is stored in DAGSTER_HOME
        assert instance.get_run_by_id(result.run_id) is not None


def _statuses(company_ids: list[int]) -> dict[str, dg.AssetPartitionStatus]:
    with dg.DagsterInstance.get() as instance:
        return instance.get_status_by_partition(
            dg.AssetKey("yclients_records"),
            [str(c) for c in company_ids],
            _defs().resolve_assets_def("yclients_records").partitions_def,
        )


def _derive_after(run_id: str) -> str | None:
    """The job the follow-up sensor requests after the failed run `run_id` (None: it skips)."""
    defs = _defs()
    sensor = defs.resolve_sensor_def("yclients_derive_after_failed_company")
    with dg.DagsterInstance.get() as instance:
        run = instance.get_run_by_id(run_id)
        assert run is not None
        (failure,) = [
            r.event_log_entry.dagster_event
            for r in instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records
        ]
        assert failure is not None
        context = dg.build_run_status_sensor_context(
            sensor_name=sensor.name, dagster_event=failure, dagster_instance=instance, dagster_run=run
        ).for_run_failure()
        answer = sensor(context)  # type: ignore[call-arg]
    if isinstance(answer, dg.SkipReason):
        return None
    assert isinstance(answer, dg.RunRequest)
    return answer.job_name or "ledger_job"


def test_a_revoked_token_fails_its_salons_partition_and_a_backfill_repairs_it(
    dagster_env: Path, engine: Engine, sandbox: Sandbox
) -> None:
    """One of two salons has its token revoked: its partition fails (red), the other's materializes, the
    run says which; the ledger still runs for the healthy one. Token fixed: a run of the failed partition
    alone (what "backfill failed partitions" launches) repairs it."""
    sandbox.faults.add(Fault("status", status=401, path="/records/235565"))
    result = run_job("changes_job", raise_on_error=False)
    assert not result.success
    failure = failure_message(result)
    assert "company 235565" in failure and "YCLIENTS_USER_TOKEN" in failure and "backfill" in failure
    assert "235564" not in failure.split("companies failed")[1].split(")")[0]
    assert _statuses([235564, 235565]) == {
        "235564": dg.AssetPartitionStatus.MATERIALIZED,
        "235565": dg.AssetPartitionStatus.FAILED,
    }
    assert check_metadata(result, "records_companies_ok")["failed_companies"] == {
        "235565": check_metadata(result, "records_companies_ok")["failed_companies"]["235565"]
    }
    with engine.connect() as conn:
        by_company = dict(
            conn.execute(text("SELECT company_id, count(*) FROM yclients.records GROUP BY 1")).all()
        )
    assert by_company.get(235564, 0) > 0 and 235565 not in by_company
    # The derived assets were skipped in that run; the daemon's follow-up sensor asks for ledger_job
    # (not when the daemon retries the run: its retry derives them), as the CLI's tick runs it.
    assert _derive_after(result.run_id) == "ledger_job"
    with dg.DagsterInstance.get() as instance:
        instance.add_run_tags(result.run_id, {"dagster/will_retry": "true"})
    assert _derive_after(result.run_id) is None
    run_job("ledger_job")
    sandbox.faults.clear()
    repaired = run_job("changes_job", tags={"dagster/partition": "235565"})
    assert repaired.success
    assert _statuses([235564, 235565]) == {
        "235564": dg.AssetPartitionStatus.MATERIALIZED,
        "235565": dg.AssetPartitionStatus.MATERIALIZED,
    }
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT count(*) FROM yclients.records WHERE company_id = 235565")
        ).scalar_one()
    created = check_metadata(repaired, "records_companies_ok")["by_company_json"]["235565"]["created"]
    assert stored == created > 0


def test_the_companies_sensor_adds_a_salons_partition_and_reads_its_catalogue_at_once(
    dagster_env: Path, engine: Engine, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from ycpipeline.cli.main import app

    monkeypatch.setenv("YCLIENTS_COMPANY_ID", "235564")
    defs = _defs()
    sensor = defs.resolve_sensor_def("yclients_companies_sensor")

    def tick() -> dg.SensorResult | dg.SkipReason:
        with (
            dg.DagsterInstance.get() as instance,
            dg.build_sensor_context(instance=instance, resources=defs.resources, definitions=defs) as context,
        ):
            answer = sensor(context)
        assert isinstance(answer, (dg.SensorResult, dg.SkipReason))
        return answer

    first = tick()  # a fresh deployment: the seeded salon's partition, and its catalogue
    assert isinstance(first, dg.SensorResult)
    (added,) = first.dynamic_partitions_requests or []
    assert isinstance(added, dg.AddDynamicPartitionsRequest) and list(added.partition_keys) == ["235564"]
    assert [r.partition_key for r in first.run_requests or []] == ["235564"]
    run_job("catalog_job", tags={"dagster/partition": "235564"})
    assert isinstance(tick(), dg.SkipReason)
    # The CLI adds a salon and its partition at once: the sensor still reads its catalogue.
    assert CliRunner().invoke(app, ["companies", "add", "235565"]).exit_code == 0
    second = tick()
    assert isinstance(second, dg.SensorResult) and not second.dynamic_partitions_requests
    (request,) = second.run_requests or []
    assert request.partition_key == "235565" and request.run_key and "catalogue-of-235565" in request.run_key
    run_job("catalog_job", tags={"dagster/partition": "235565"})
    with engine.connect() as conn:
        assert conn.execute(
            text("SELECT count(*) FROM yclients.services WHERE company_id = 235565")
        ).scalar_one() == len(sandbox.state.services(235565))
    assert CliRunner().invoke(app, ["companies", "remove", "235565"]).exit_code == 0
    with dg.DagsterInstance.get() as instance:
        instance.add_dynamic_partitions("companies", ["235565"])  # as if the CLI had not removed it
    third = tick()
    assert isinstance(third, dg.SensorResult)
    (deleted,) = third.dynamic_partitions_requests or []
    assert isinstance(deleted, dg.DeleteDynamicPartitionsRequest) and list(deleted.partition_keys) == [
        "235565"
    ]


def test_the_nightly_schedule_runs_over_every_salons_partition(
    dagster_env: Path, engine: Engine, sandbox: Sandbox
) -> None:
    defs = _defs()
    schedule = defs.resolve_schedule_def("yclients_streams_nightly")
    with (
        dg.DagsterInstance.get() as instance,
        dg.build_schedule_context(
            instance=instance, resources=defs.resources, scheduled_execution_time=datetime.now(UTC)
        ) as context,
    ):
        (request,) = schedule.evaluate_tick(context).run_requests or []
    assert request.tags["dagster/asset_partition_range_start"] == "235564"
    assert request.tags["dagster/asset_partition_range_end"] == "235565"
    result = run_job("nightly_streams_job", tags=request.tags)
    clients = {
        e.materialization.partition
        for e in result.get_asset_materialization_events()
        if e.materialization.asset_key == dg.AssetKey("yclients_clients")
    }
    assert clients == {"235564", "235565"}


def test_a_window_refresh_reports_each_salons_own_counts(
    dagster_env: Path, engine: Engine, sandbox: Sandbox
) -> None:
    from ycpipeline.cli.runs import sync_window

    first, last = ANCHOR - timedelta(days=9), ANCHOR
    totals = sync_window([235564], first, last)
    days = [first + timedelta(days=i) for i in range(10)]
    expected = sum(len(sandbox.state.day_records(235564, day)) for day in days)
    assert totals["created"] == expected
    assert _statuses([235564])["235564"] == dg.AssetPartitionStatus.MATERIALIZED
    with engine.connect() as conn:  # the other company of the chain was not touched
        assert (
            conn.execute(text("SELECT count(*) FROM yclients.records WHERE company_id = 235565")).scalar_one()
            == 0
        )


def test_a_company_added_by_the_cli_is_loaded_by_the_next_tick_without_a_reload(
    dagster_env: Path, engine: Engine, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from ycpipeline.cli.main import app
    from ycpipeline.cli.tick import run_tick

    monkeypatch.setenv("YCLIENTS_COMPANY_ID", "235564")
    defs = _defs()  # the code location is loaded once, before the company exists
    assert set(run_tick()) == {235564}
    added = CliRunner().invoke(app, ["companies", "add", "235565"])
    assert added.exit_code == 0, added.output
    assert "company 235565: added" in added.output
    listed = CliRunner().invoke(app, ["companies", "list"])
    assert "235565  tracked" in listed.output and "by cli" in listed.output
    with dg.DagsterInstance.get() as instance:
        schedule = defs.resolve_schedule_def("yclients_sync_every_30_minutes")
        with dg.build_schedule_context(instance=instance, resources=defs.resources) as context:
            requests = schedule(context)
    assert isinstance(requests, list) and len(requests) == 1
    assert requests[0].tags["dagster/asset_partition_range_start"] == "235564"
    assert requests[0].tags["dagster/asset_partition_range_end"] == "235565"
    outcomes = run_tick()
    assert outcomes[235565].counts["changes"]["created"] > 0 and not outcomes[235565].errors
    removed = CliRunner().invoke(app, ["companies", "remove", "235565"])
    assert removed.exit_code == 0 and "company 235565: removed" in removed.output
    assert set(run_tick()) == {235564}
    with engine.connect() as conn:  # its rows stay
        assert (
            conn.execute(text("SELECT count(*) FROM yclients.records WHERE company_id = 235565")).scalar_one()
            > 0
        )


def test_ledger_invariant_holds_through_a_sequence_of_mutations(
    dagster_env: Path, engine: Engine, sandbox: Sandbox
) -> None:
    from datetime import datetime, time
    from decimal import Decimal

    from ycpipeline.cli.demo_users import seed_demo_users
    from ycpipeline.cli.runs import sync_window
    from ycpipeline.loyalty.ledger import ledger_violations

    seed_demo_users(engine, seed=7)
    start, end = ANCHOR - timedelta(days=10), ANCHOR
    sync_window([235564], start, end)
    completed = [
        r
        for d in range(10)
        for r in sandbox.state.day_records(235564, start + timedelta(days=d))
        if r["attendance"] == 1 and not r["deleted"] and r["services"]
    ]
    sandbox.state.set_attendance(235564, completed[0]["id"], -1)
    sandbox.state.delete_record(235564, completed[1]["id"])
    sandbox.state.set_service_cost(235564, completed[2]["id"], "9999.99")
    sandbox.state.move_record(
        235564,
        completed[3]["id"],
        datetime.combine(start - timedelta(days=40), time(10), sandbox.state.timezone(235564)),
    )
    sync_window([235564], start, end)
    sync_window([235564], start, end)  # a second pass appends nothing
    with engine.connect() as conn:
        assert ledger_violations(conn, Decimal("0.05")) == 0
        kinds = dict(conn.execute(text("SELECT kind, count(*) FROM loyalty.bonus_ledger GROUP BY 1")).all())
    assert kinds["accrual"] > 10


def test_every_asset_is_described_for_the_ui(dagster_env: Path) -> None:
    graph = _defs().resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.description and node.group_name, key
        assert {"postgres"} <= set(node.kinds), key
        if node.is_materializable:
            assert node.owners, key
        # Every asset is a warehouse table: its name and column schema, read from schema.py.
        assert str(node.metadata["dagster/table_name"]).split(".")[0] in ("yclients", "loyalty", "marts"), key
        assert len(node.metadata["dagster/column_schema"].columns) >= 3, key
        # Code references: the file and line that define the asset.
        references = node.metadata["dagster/code_references"].code_references
        assert any(Path(r.file_path).is_file() and r.line_number > 0 for r in references), key
    # What the 30-minute schedule refreshes carries the 30-minute promise as a freshness policy.
    fresh = {k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).freshness_policy}
    assert fresh == {
        "yclients_services",
        "yclients_staff",
        "yclients_records",
        "rejected_rows",
        "bonus_ledger",
        "branch_daily",
        "staff_utilization_daily",
        "client_lifecycle",
        "loyalty_liability",
    }
    policy = graph.get(dg.AssetKey("bonus_ledger")).freshness_policy
    assert policy is not None and policy.fail_window.to_timedelta() == timedelta(minutes=60)
    catalogue = graph.get(dg.AssetKey("yclients_services")).freshness_policy
    assert catalogue is not None and catalogue.fail_window.to_timedelta() == timedelta(hours=26)
    # The app's users are observed, never materialized: a source with an observation function.
    app_users = graph.get(dg.AssetKey("app_users"))
    assert app_users.is_observable and not app_users.is_materializable
    checks = {c.name for c in graph.asset_check_keys}
    assert checks == {
        "records_companies_ok",
        "records_watermark_advanced",
        "records_rejected_share",
        "records_catalogue_integrity",
        "records_count_matches_api",
        "ledger_matches_owed",
        "no_negative_balance",
        "ambiguous_user_matches",
        "app_user_phones_readable",
        "records_schema_drift",
        *(
            f"{stream}_{check}"
            for stream in (
                "services",
                "staff",
                "service_categories",
                "payment_accounts",
                "clients",
                "client_changes",
                "cash_ledger",
                "goods_transactions",
                "staff_schedules",
            )
            for check in ("companies_ok", "rejected_share", "schema_drift")
        ),
        "branch_daily_reconciles",
        "staff_utilization_daily_reconciles",
        "occupancy_not_negative",
        "occupancy_at_most_full",
        "client_lifecycle_reconciles",
        "loyalty_liability_reconciles",
    }


def test_ticks_skip_saying_what_is_missing_instead_of_failing(
    dagster_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from ycpipeline_tests.support.helpers import sensor_tick

    monkeypatch.chdir(tmp_path)  # no .env here
    for name in ("WAREHOUSE_URL", "YCLIENTS_API_TOKEN"):
        monkeypatch.delenv(name)
    defs = _defs()  # loads without them
    with dg.DagsterInstance.get() as instance:
        ticks = [sensor_tick(instance)]
        for name in (
            "yclients_sync_every_30_minutes",
            "yclients_catalog_daily",
            "yclients_streams_nightly",
        ):
            schedule = defs.resolve_schedule_def(name)
            with dg.build_schedule_context(instance=instance, resources=defs.resources) as context:
                ticks.append(schedule(context))
    for tick in ticks:
        assert isinstance(tick, dg.SkipReason), tick
        assert "YCLIENTS_API_TOKEN, WAREHOUSE_URL not set" in (tick.skip_message or "")
    # A run started anyway fails saying which variable to set.
    with pytest.raises(RunFailedError, match="WAREHOUSE_URL is not set"):
        run_job("ledger_job")
