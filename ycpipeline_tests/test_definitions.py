"""The code location loads, and its jobs materialize for real against the sandbox and Postgres."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import Engine, text

from ycpipeline.cli.runs import RunFailedError, materializations, run_job
from ycpipeline.defs.partitions import partition_key
from ycpipeline.sandbox import Fault, Sandbox
from ycpipeline_tests.conftest import ANCHOR


def _defs() -> dg.Definitions:
    from ycpipeline.definitions import defs

    return defs()


def test_code_location_loads_whole(dagster_env: Path) -> None:
    defs = _defs()
    dg.Definitions.validate_loadable(defs)
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert keys == {
        "yclients_services",
        "yclients_staff",
        "yclients_records",
        "yclients_record_changes",
        "bonus_ledger",
        "app_users",
        "yclients_service_categories",
        "yclients_payment_accounts",
        "yclients_clients",
        "yclients_client_changes",
        "yclients_cash_ledger",
        "yclients_staff_schedules",
        "branch_daily",
        "staff_utilization_daily",
        "client_lifecycle",
        "loyalty_liability",
    }
    for name in ("catalog_job", "sync_job", "ledger_job", "changes_job", "nightly_streams_job"):
        assert defs.resolve_job_def(name).description


def test_catalog_job_materializes_both_assets(dagster_env: Path, engine: Engine, sandbox: Sandbox) -> None:
    result = run_job("catalog_job")
    services = materializations(result, "yclients_services")[0]
    assert services["created"] == 2 * len(sandbox.state.services(235564))
    assert materializations(result, "yclients_staff")[0]["created"] == 20
    with dg.DagsterInstance.get() as instance:  # the run is stored in DAGSTER_HOME
        assert instance.get_run_by_id(result.run_id) is not None


def test_partition_range_run_then_backfill_after_token_failure(
    dagster_env: Path, engine: Engine, sandbox: Sandbox
) -> None:
    first, last = ANCHOR - timedelta(days=9), ANCHOR
    sandbox.faults.add(Fault("status", status=401, path="/records/235564"))
    with pytest.raises(RunFailedError, match="YCLIENTS_USER_TOKEN"):
        run_job("sync_job", partition_range=(partition_key(235564, first), partition_key(235564, last)))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM yclients.records")).scalar_one() == 0
    # Token fixed: the same range again, one paged query for the whole window.
    result = run_job("sync_job", partition_range=(partition_key(235564, first), partition_key(235564, last)))
    meta = materializations(result, "yclients_records")[0]
    expected = sum(len(sandbox.state.day_records(235564, first + timedelta(days=i))) for i in range(10))
    assert meta["created"] == expected and meta["pages"] == -(-expected // 50)
    with dg.DagsterInstance.get() as instance:
        status = instance.get_status_by_partition(
            dg.AssetKey("yclients_records"),
            [partition_key(235564, last)],
            _defs().resolve_assets_def("yclients_records").partitions_def,
        )
    assert set(status.values()) == {dg.AssetPartitionStatus.MATERIALIZED}
    with engine.connect() as conn:  # the other company of the chain was not touched
        assert (
            conn.execute(text("SELECT count(*) FROM yclients.records WHERE company_id = 235565")).scalar_one()
            == 0
        )


def test_ledger_invariant_holds_through_a_sequence_of_mutations(
    dagster_env: Path, engine: Engine, sandbox: Sandbox
) -> None:
    from datetime import datetime, time
    from decimal import Decimal

    from ycpipeline.cli.runs import sync_window
    from ycpipeline.loyalty.ledger import ledger_violations
    from ycpipeline.loyalty.seed import seed_demo_users

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
        if not node.is_materializable:
            continue
        assert node.description and node.group_name and node.owners, key
        assert {"postgres"} <= set(node.kinds), key
    checks = {c.name for c in graph.asset_check_keys}
    assert checks == {
        "services_rejected_share",
        "services_companies_ok",
        "staff_rejected_share",
        "staff_companies_ok",
        "record_changes_companies_ok",
        "record_changes_rejected_share",
        "records_rejected_share",
        "records_catalogue_integrity",
        "records_count_matches_api",
        "ledger_matches_owed",
        "no_negative_balance",
        "ambiguous_user_matches",
        "app_user_phones_readable",
        *(
            f"{stream}_{check}"
            for stream in (
                "service_categories",
                "payment_accounts",
                "clients",
                "client_changes",
                "cash_ledger",
                "staff_schedules",
            )
            for check in ("companies_ok", "rejected_share")
        ),
        "branch_daily_reconciles",
        "staff_utilization_daily_reconciles",
        "occupancy_not_negative",
        "occupancy_at_most_full",
        "client_lifecycle_reconciles",
        "loyalty_liability_reconciles",
    }
