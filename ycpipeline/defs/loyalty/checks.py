"""Checks of the ledger's invariants."""

import dagster as dg

from ycpipeline.defs.resources import WarehouseResource
from ycpipeline.loyalty.app_users import unusable_phones
from ycpipeline.loyalty.ledger import ambiguous_matches, ledger_violations, users_in_debt


@dg.asset_check(asset="bonus_ledger", description="For every record the ledger sums to what it is owed now")
def ledger_matches_owed(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """0 records may violate the ledger invariant."""
    with warehouse.engine().connect() as conn:
        violations = ledger_violations(conn, warehouse.rate())
    return dg.AssetCheckResult(passed=violations == 0, metadata={"violating_records": violations})


@dg.asset_check(
    asset="bonus_ledger",
    description="App users in debt: a visit reversed after its points were spent leaves a negative balance, "
    "recovered from the user's next accruals (docs/loyalty.md). Warns naming them.",
)
def no_negative_balance(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Report the users whose balance is below zero; spending never causes it, a late reversal may."""
    with warehouse.engine().connect() as conn:
        in_debt, sample = users_in_debt(conn)
    return dg.AssetCheckResult(
        passed=in_debt == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"negative_balances": in_debt, "user_ids": str(sample)},
        description=f"users in debt: {sample}" if in_debt else None,
    )


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
