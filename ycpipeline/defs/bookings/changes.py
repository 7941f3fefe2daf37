"""The change-capture asset: per company, every record changed since its watermark, whatever the visit date."""

from datetime import date

import dagster as dg
from pydantic import Field

from ycpipeline.defs.bookings.assets import GROUP
from ycpipeline.defs.freshness.resources import FreshnessResource
from ycpipeline.defs.metadata import (
    FRESH_WITHIN_30_MINUTES,
    KINDS,
    OWNERS,
    companies_ok_check,
    company_check_specs,
    company_failed,
    markdown_table,
    numbers,
    rejected_share_check,
    summed,
    table_metadata,
)
from ycpipeline.defs.partitions import COMPANY_KEYS, partition_key, records_partitions
from ycpipeline.defs.resources import WarehouseResource, YClientsResource
from ycpipeline.sync.changes import ChangesResult, capture_changes
from ycpipeline.sync.companies import company_timezone
from ycpipeline.warehouse.schema import records
from ycpipeline.warehouse.totals import records_by_date, records_totals

ASSET = "yclients_record_changes"
RECORDS_ASSET = "yclients_records"


class RecordChangesConfig(dg.Config):
    """Which companies a run covers, and records to re-read by id (webhook deletions)."""

    companies: list[int] | None = Field(
        default=None, description="Companies to capture (default: every configured one)"
    )
    reread_record_ids: dict[str, list[int]] = Field(
        default_factory=dict, description="Per company id, records to re-read by id (deleted ones)"
    )


WATERMARK_CHECK = "record_changes_watermark_advanced"


def watermark_check(check_name: str, asset_key: str, results: list[ChangesResult]) -> dg.AssetCheckResult:
    """Warns naming each company whose pass stayed inconsistent in every re-read, so its watermark held."""
    held = sorted(r.company_id for r in results if r.watermark_held)
    return dg.AssetCheckResult(
        check_name=check_name,
        asset_key=asset_key,
        passed=not held,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"held_companies": dg.MetadataValue.json([str(c) for c in held])},
        description=(
            f"watermark held for companies {', '.join(map(str, held))}: their records kept moving across "
            "pages in every re-read; the next pass reads the same changes again"
            if held
            else None
        ),
    )


def _partition_dates() -> tuple[date, date]:
    """The first and last visit dates that exist as partitions right now."""
    dates = records_partitions.get_partitions_def_for_dimension("date")
    first, last = dates.get_first_partition_key(), dates.get_last_partition_key()
    if first is None or last is None:
        return date.max, date.min
    return date.fromisoformat(first), date.fromisoformat(last)


def _log_partition_materializations(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, result: ChangesResult
) -> int:
    """One materialization of `yclients_records` per partition whose content the pass changed, with
    what the pass changed there next to what the partition holds now.

    Dates past the last partition (bookings further ahead than the partitions reach) and before the
    first are stored but have no partition: they are counted, not materialized.
    """
    first, last = _partition_dates()
    touched = [day for day, counts in sorted(result.partitions.items()) if counts.touched]
    with_partition = [
        day for day in touched if str(result.company_id) in COMPANY_KEYS and first <= day <= last
    ]
    with warehouse.engine().connect() as conn:
        held = records_by_date(conn, result.company_id, with_partition)
    for day in with_partition:
        context.log_event(
            dg.AssetMaterialization(
                asset_key=RECORDS_ASSET,
                partition=partition_key(result.company_id, day),
                description=f"change capture ({result.mode}) of company {result.company_id}",
                metadata=numbers({**result.partitions[day].as_dict(), **held[day]}),
            )
        )
    return len(touched) - len(with_partition)


@dg.asset(
    name=ASSET,
    group_name=GROUP,
    kinds=KINDS,
    owners=OWNERS,
    tags={"source": "yclients", "domain": "bookings"},
    pool="yclients_records",
    deps=["yclients_services", "yclients_staff"],
    metadata=table_metadata(records),
    freshness_policy=FRESH_WITHIN_30_MINUTES,
    description="Change capture into yclients.records and yclients.record_services: per company, the "
    "records changed since its watermark (yclients.sync_state), deleted ones included, whatever their "
    "visit date; moved records are updated in place. The first pass of a company is the full load of its "
    "history. Logs a materialization of yclients_records for each partition whose content changed. One "
    "company's failure fails only its part (see the companies_ok check).",
    check_specs=[
        *company_check_specs("record_changes", ASSET, "changed records"),
        dg.AssetCheckSpec(
            WATERMARK_CHECK,
            asset=ASSET,
            description="Every company's watermark moved past what the pass read; a company whose listing "
            "kept changing under its pages in every re-read keeps its watermark (nothing is skipped: the "
            "next pass reads the same changes again) and is named here",
        ),
    ],
)
def yclients_record_changes(
    context: dg.AssetExecutionContext,
    config: RecordChangesConfig,
    yclients: YClientsResource,
    warehouse: WarehouseResource,
    freshness: FreshnessResource,
) -> dg.MaterializeResult:
    """Run one change-capture pass per company; any error of a company is reported, never raised."""
    client = yclients.client()
    requests_before = client.stats.requests
    configured = yclients.companies()
    companies = config.companies if config.companies is not None else configured
    policy = freshness.change_policy()
    results: list[ChangesResult] = []
    failures: dict[int, str] = {}
    without_partition = 0
    for company_id in sorted(set(companies)):
        if company_id not in configured:
            failures[company_id] = f"company {company_id} is not in YCLIENTS_COMPANY_ID"
            continue
        try:
            tz = company_timezone(client, warehouse.engine(), company_id)
            result = capture_changes(
                client,
                warehouse.engine(),
                company_id,
                tz,
                policy,
                reread_ids=config.reread_record_ids.get(str(company_id), []),
                run_id=context.run.run_id,
            )
        except Exception as exc:
            # Any error of one company's part (a rejected token, an outage, data no loader foresaw) fails
            # that part only: never the other companies, the catalogue or the ledger.
            company_failed(context.log, failures, company_id, "change capture", exc)
            continue
        context.log.info(
            f"{result.mode} pass of company {company_id} (changed_after {result.changed_after}): "
            f"{result.as_dict()}"
        )
        without_partition += _log_partition_materializations(context, warehouse, result)
        results.append(result)
    rows = [
        {
            "company_id": r.company_id,
            "mode": r.mode,
            "watermark": r.watermark and r.watermark.isoformat(),
            **r.as_dict(),
        }
        for r in results
    ]
    totals = summed([r.as_dict() for r in results])
    with warehouse.engine().connect() as conn:
        held = records_totals(conn)
    return dg.MaterializeResult(
        metadata={
            **numbers(totals),
            **numbers(held),
            "api_requests": dg.MetadataValue.int(client.stats.requests - requests_before),
            "dates_without_partition": dg.MetadataValue.int(without_partition),
            "by_company": markdown_table(rows),
            "by_company_json": dg.MetadataValue.json(
                {
                    "results": {str(r["company_id"]): r for r in rows},
                    "failures": {str(c): m for c, m in failures.items()},
                }
            ),
        },
        check_results=[
            companies_ok_check("record_changes_companies_ok", ASSET, failures),
            rejected_share_check(
                "record_changes_rejected_share", ASSET, totals.get("rejected", 0), totals.get("fetched", 0)
            ),
            watermark_check(WATERMARK_CHECK, ASSET, results),
        ],
    )
