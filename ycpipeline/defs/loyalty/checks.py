"""Checks of the ledger's invariants."""

import dagster as dg

from ycpipeline.defs.resources import WarehouseResource
from ycpipeline.loyalty.app_users import unusable_phones
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


@dg.asset_check(
    asset="bonus_ledger",
    description="Completed visits whose phone matches several app users (they accrue nothing until the "
    "app team fixes the users). The demo seeds one such pair on purpose (users 1000 and 9000 share a "
    "phone), so in the demo this check always warns.",
)
def ambiguous_user_matches(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Ambiguous matches accrue nothing; report them so the app team can fix the users."""
    with warehouse.engine().connect() as conn:
        ambiguous = ambiguous_matches(conn)
    return dg.AssetCheckResult(
        passed=ambiguous == 0, severity=dg.AssetCheckSeverity.WARN, metadata={"ambiguous_visits": ambiguous}
    )


@dg.asset_check(
    asset="bonus_ledger",
    description="App users whose phone is not a phone number in any notation (they match by code only)",
)
def app_user_phones_readable(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Phones are normalised to E.164 like the records'; report the app users whose phone cannot be."""
    with warehouse.engine().connect() as conn:
        unusable, sample = unusable_phones(conn)
    return dg.AssetCheckResult(
        passed=unusable == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"unusable_phones": unusable, "user_ids": str(sample)},
        description="fix these phones in the app; loyalty.app_user_phones shows what was read"
        if unusable
        else None,
    )
