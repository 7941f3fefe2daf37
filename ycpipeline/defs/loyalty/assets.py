"""The bonus ledger, derived from completed visits and the app's users."""

import dagster as dg

from ycpipeline.defs.metadata import OWNERS
from ycpipeline.defs.resources import WarehouseResource
from ycpipeline.loyalty.ledger import derive_ledger

GROUP = "loyalty"

app_users = dg.AssetSpec(
    "app_users",
    group_name=GROUP,
    kinds={"postgres"},
    owners=OWNERS,
    description="loyalty.app_users: the app's users with their unique_code and phone. Owned by the app.",
)


@dg.asset(
    group_name=GROUP,
    kinds={"postgres"},
    owners=OWNERS,
    tags={"domain": "loyalty"},
    pool="bonus_ledger",
    deps=["yclients_records", "yclients_record_changes", app_users],
    description="loyalty.bonus_ledger: append-only accruals, reversals and adjustments so that every "
    "record's entries sum to the bonus it is owed now. Set-based, one transaction, exactly once.",
)
def bonus_ledger(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Append the difference between what each record is owed and what the ledger holds."""
    result = derive_ledger(warehouse.engine(), warehouse.rate(), run_id=context.run.run_id)
    context.log.info(f"ledger: {result}")
    return dg.MaterializeResult(
        metadata={
            "entries_appended": dg.MetadataValue.int(result.entries),
            "accruals": dg.MetadataValue.int(result.accruals),
            "reversals": dg.MetadataValue.int(result.reversals),
            "adjustments": dg.MetadataValue.int(result.adjustments),
            "points_accrued": dg.MetadataValue.float(float(result.points_accrued)),
            "points_reversed": dg.MetadataValue.float(float(result.points_reversed)),
            "users_affected": dg.MetadataValue.int(result.users_affected),
        }
    )
