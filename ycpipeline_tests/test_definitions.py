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
    assert keys == {"yclients_services", "yclients_staff", "yclients_records", "bonus_ledger", "app_users"}
    for name in ("catalog_job", "sync_job", "ledger_job"):
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
