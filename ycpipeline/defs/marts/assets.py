"""The marts as Dagster assets: each rebuilds the keys its base tables changed (docs/marts.md), with checks
that recompute it independently from the base tables."""

from collections.abc import Callable

import dagster as dg
from sqlalchemy import Connection, func, select

from ycpipeline.defs.marts.resources import MartsResource
from ycpipeline.defs.metadata import FRESH_WITHIN_30_MINUTES, OWNERS, table_metadata
from ycpipeline.defs.resources import WarehouseResource
from ycpipeline.marts import checks
from ycpipeline.marts.checks import Scope
from ycpipeline.marts.refresh import MARTS, MartName, RefreshResult, refresh_mart

GROUP = "marts"
KINDS = {"postgres", "sql"}
RECORDS = ["yclients_records"]
# The night compares every key; other runs compare what they rebuilt (a tick stays cheap on a large warehouse).
RECONCILE_EVERYTHING_IN = "nightly_streams_job"


class MartConfig(dg.Config):
    """`full`: rebuild every key the base tables hold instead of the changed ones (a backfill)."""

    full: bool = False


def _mart(
    name: MartName,
    description: str,
    deps: list[str],
    reconcile: Callable[[Connection, Scope | None], int],
    reconcile_description: str,
    extra_checks: Callable[[Connection], list[dg.AssetCheckResult]] | None = None,
    extra_specs: list[dg.AssetCheckSpec] | None = None,
) -> dg.AssetsDefinition:
    check_name = f"{name}_reconciles"

    @dg.asset(
        name=name,
        group_name=GROUP,
        kinds=KINDS,
        owners=OWNERS,
        tags={"domain": "marts"},
        pool=f"marts_{name}",
        deps=deps,
        description=description,
        metadata=table_metadata(MARTS[name].table),
        # Every 30-minute tick (changes_job) rebuilds what changed.
        freshness_policy=FRESH_WITHIN_30_MINUTES,
        check_specs=[
            dg.AssetCheckSpec(
                check_name,
                asset=name,
                description=reconcile_description
                if name == "loyalty_liability"
                else f"{reconcile_description}: over the keys the run rebuilt; every key in "
                f"{RECONCILE_EVERYTHING_IN} and on a full rebuild",
            )
        ]
        + (extra_specs or []),
    )
    def _asset(
        context: dg.AssetExecutionContext,
        config: MartConfig,
        warehouse: WarehouseResource,
        marts: MartsResource,
    ) -> dg.MaterializeResult:
        result = refresh_mart(warehouse.engine(), name, marts.policy(), full=config.full)
        context.log.info(f"{name}: {result}")
        everything = config.full or context.job_name == RECONCILE_EVERYTHING_IN
        table = MARTS[name].table
        with warehouse.engine().connect() as conn:
            mismatches = reconcile(conn, None if everything else _rebuilt(result))
            more = extra_checks(conn) if extra_checks else []
            rows = conn.execute(select(func.count()).select_from(table)).scalar_one()
        span = f"{result.first_day} … {result.last_day}" if result.first_day else "—"
        return dg.MaterializeResult(
            metadata={
                **{k: dg.MetadataValue.int(v) for k, v in result.as_dict().items()},
                "dagster/row_count": dg.MetadataValue.int(rows),
                "full_rebuild": dg.MetadataValue.bool(result.full),
                "dates_rebuilt": dg.MetadataValue.text(span),
                "companies": dg.MetadataValue.text(", ".join(map(str, result.companies)) or "—"),
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name=check_name,
                    asset_key=name,
                    passed=mismatches == 0,
                    metadata={
                        "mismatched_keys": mismatches,
                        "compared": "every key" if everything else "rebuilt keys",
                    },
                    description=f"{mismatches} keys differ from the base tables" if mismatches else None,
                ),
                *more,
            ],
        )

    return _asset


def _rebuilt(result: RefreshResult) -> Scope:
    return Scope(result.companies, result.first_day, result.last_day, result.clients)


def _occupancy_checks(conn: Connection) -> list[dg.AssetCheckResult]:
    negative, over = checks.occupancy_out_of_bounds(conn)
    return [
        dg.AssetCheckResult(
            check_name="occupancy_not_negative",
            asset_key="staff_utilization_daily",
            passed=negative == 0,
            metadata={"rows": negative},
        ),
        dg.AssetCheckResult(
            check_name="occupancy_at_most_full",
            asset_key="staff_utilization_daily",
            passed=over == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"rows": over},
            description=f"{over} staff days booked beyond their schedule (occupancy > 1)" if over else None,
        ),
    ]


client_lifecycle = _mart(
    "client_lifecycle",
    "marts.client_lifecycle: per company and client with a completed visit, first and last visit, visits, "
    "revenue, paid, no-shows, bonus balance, first-visit cohort and status as of the company's today: lost "
    "after MARTS_LOST_AFTER_DAYS without a visit, else active from MARTS_ACTIVE_MIN_VISITS visits, returning "
    "from 2, new. Rebuilds the clients whose records, payments or ledger entries changed; ages every status.",
    [*RECORDS, "bonus_ledger"],
    checks.client_lifecycle_mismatches,
    "Visits, revenue (Σ service lines) and bonus balance (Σ ledger) per client equal the base tables",
)
branch_daily = _mart(
    "branch_daily",
    "marts.branch_daily: per company and visit date, completed visits, clients served, service revenue, paid "
    "by account type (cash, cashless, other), average check, no-show, cancellation and online rates, "
    "new-client visits, and the cash ledger's in and out. Rebuilds the dates whose records, payments or cash "
    "ledger changed.",
    [*RECORDS, "client_lifecycle", "yclients_cash_ledger", "yclients_payment_accounts"],
    checks.branch_daily_mismatches,
    "Completed visits, revenue (Σ service lines' cost) and paid (Σ payments) per date equal the base tables",
)
staff_utilization_daily = _mart(
    "staff_utilization_daily",
    "marts.staff_utilization_daily: per company, staff member and date, scheduled, booked and done minutes, "
    "occupancy (booked ÷ scheduled, null without a schedule), revenue and revenue per scheduled hour. "
    "Rebuilds the dates whose records or schedules changed.",
    [*RECORDS, "yclients_staff_schedules", "yclients_staff"],
    checks.staff_utilization_mismatches,
    "Scheduled minutes (the schedules) and done minutes (completed visits) per staff day equal the base tables",
    _occupancy_checks,
    [
        dg.AssetCheckSpec(
            "occupancy_not_negative", asset="staff_utilization_daily", description="No occupancy below 0"
        ),
        dg.AssetCheckSpec(
            "occupancy_at_most_full",
            asset="staff_utilization_daily",
            description="Staff days booked beyond their schedule (occupancy > 1) are flagged (WARN)",
        ),
    ],
)
loyalty_liability = _mart(
    "loyalty_liability",
    "marts.loyalty_liability: per company and day (the company's local date), the bonus points' roll-forward: "
    "opening, accrued, reversed, spent, expired, closing (= outstanding, the ledger's sum up to that day), "
    "also in roubles (MARTS_POINT_VALUE per point) and valued at the expected redemption rate estimated "
    "from the ledger's history (docs/loyalty.md). Rebuilds from the earliest day with new ledger entries "
    "to today.",
    ["bonus_ledger", "bonus_expiry"],
    lambda conn, _scope: checks.loyalty_liability_mismatches(conn),  # per company: cheap in full
    "Each company's days roll forward (opening = the day before's closing, opening + accrued − reversed − "
    "spent − expired = closing) and its latest closing equals the ledger's sum",
)
