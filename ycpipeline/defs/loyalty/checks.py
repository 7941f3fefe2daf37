"""Checks of the ledger's invariants."""

import dagster as dg

from ycpipeline.defs.resources import WarehouseResource
from ycpipeline.loyalty.ledger import ambiguous_matches, ledger_violations, negative_balances


@dg.asset_check(asset="bonus_ledger", description="For every record the ledger sums to what it is owed now")
def ledger_matches_owed(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """0 records may violate the ledger invariant."""
    with warehouse.engine().connect() as conn:
        violations = ledger_violations(conn, warehouse.rate())
    return dg.AssetCheckResult(passed=violations == 0, metadata={"violating_records": violations})


@dg.asset_check(asset="bonus_ledger", description="No app user has a negative bonus balance")
def no_negative_balance(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Balances never go below zero."""
    with warehouse.engine().connect() as conn:
        negative = negative_balances(conn)
    return dg.AssetCheckResult(passed=negative == 0, metadata={"negative_balances": negative})


@dg.asset_check(asset="bonus_ledger", description="Completed visits whose phone matches several app users")
def ambiguous_user_matches(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Ambiguous matches accrue nothing; report them so the app team can fix the users."""
    with warehouse.engine().connect() as conn:
        ambiguous = ambiguous_matches(conn)
    return dg.AssetCheckResult(
        passed=ambiguous == 0, severity=dg.AssetCheckSeverity.WARN, metadata={"ambiguous_visits": ambiguous}
    )
