"""The bonus ledger, derived from completed visits and the app's users (observed, not written)."""

from typing import Any

import dagster as dg

from ycpipeline.defs.loyalty.resources import LoyaltyResource
from ycpipeline.defs.metadata import FRESH_WITHIN_30_MINUTES, OWNERS, code_reference, numbers, table_metadata
from ycpipeline.defs.resources import WarehouseResource
from ycpipeline.loyalty.app_users import app_users_observation
from ycpipeline.loyalty.expiry import expire_points
from ycpipeline.loyalty.ledger import derive_ledger, ledger_totals
from ycpipeline.warehouse.schema import app_users as app_users_table
from ycpipeline.warehouse.schema import bonus_ledger as bonus_ledger_table
from ycpipeline.warehouse.schema import bonus_policy as bonus_policy_table

GROUP = "loyalty"


def observe_app_users(warehouse: WarehouseResource) -> dg.ObserveResult:
    """Count the app's users and fingerprint the table."""
    with warehouse.engine().connect() as conn:
        counts, fingerprint = app_users_observation(conn)
    return dg.ObserveResult(data_version=dg.DataVersion(fingerprint), metadata=numbers(counts))


# Observable source asset: a beta API of Dagster (BetaWarning), chosen because the app owns the table
# and the pipeline only reads it; an observation reports its size and a data version that changes with
# its content, so the UI shows when the ledger's input changed.
app_users = dg.observable_source_asset(
    name="app_users",
    group_name=GROUP,
    # The decorator takes no `kinds` or `owners`: a kind is the tag Dagster stores for `kinds=`.
    tags={"domain": "loyalty", "dagster/kind/postgres": ""},
    metadata={**table_metadata(app_users_table), **code_reference(observe_app_users)},
    description="loyalty.app_users: the app's users with their unique_code and phone. Owned by the app: "
    "the pipeline never writes it. Each observation reports how many users there are and a data "
    "version that changes whenever a user is added, removed or edited (the ledger then re-derives "
    "in full).",
)(observe_app_users)


# What the assets that append to loyalty.bonus_ledger share: one such run at a time (the pool).
LEDGER_WRITER: dict[str, Any] = {
    "group_name": GROUP,
    "kinds": {"postgres"},
    "owners": OWNERS,
    "tags": {"domain": "loyalty"},
    "pool": "bonus_ledger",
}


@dg.asset(
    **LEDGER_WRITER,
    deps=["yclients_records", app_users],
    metadata=table_metadata(bonus_ledger_table),
    freshness_policy=FRESH_WITHIN_30_MINUTES,
    description="loyalty.bonus_ledger: append-only accruals, reversals and adjustments so that every "
    "record's entries sum to the bonus it is owed now. Set-based, one transaction, exactly once. "
    "Each materialization shows what it appended next to the ledger's totals (entries, the points "
    "users hold, how many users hold any).",
)
def bonus_ledger(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Append the difference between what each record is owed and what the ledger holds."""
    result = derive_ledger(warehouse.engine(), warehouse.rate(), run_id=context.run.run_id)
    context.log.info(f"ledger: {result}")
    with warehouse.engine().connect() as conn:
        held = ledger_totals(conn)
    return dg.MaterializeResult(
        metadata=numbers(
            {
                "entries_appended": result.entries,
                "accruals": result.accruals,
                "reversals": result.reversals,
                "adjustments": result.adjustments,
                "points_accrued": float(result.points_accrued),
                "points_reversed": float(result.points_reversed),
                "users_affected": result.users_affected,
                **held,
            }
        )
    )


@dg.asset(
    **LEDGER_WRITER,
    deps=[bonus_ledger],
    # Its entries land in loyalty.bonus_ledger; the table of its own is the rule it applied.
    metadata=table_metadata(bonus_policy_table),
    description="Nightly: holds past their expires_at are written as released, and points older than "
    "BONUS_EXPIRY_MONTHS (0: never) as expiry entries of loyalty.bonus_ledger, oldest lots first, what the "
    "users spent or hold left untouched. Writes the rule to loyalty.bonus_policy, which "
    "loyalty.expiring_points reads for the app's reminders (BONUS_EXPIRY_NOTICE_DAYS).",
)
def bonus_expiry(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, loyalty: LoyaltyResource
) -> dg.MaterializeResult:
    """Release expired holds and expire the lots past the rule's months."""
    policy = loyalty.policy()
    result = expire_points(warehouse.engine(), policy, run_id=context.run.run_id)
    context.log.info(f"expiry ({policy}): {result}")
    return dg.MaterializeResult(
        metadata=numbers(
            {
                "expiry_months": policy.months,
                "holds_released": result.holds_released,
                "lots_expired": result.lots_expired,
                "points_expired": float(result.points_expired),
                "users_affected": result.users,
            }
        )
    )
