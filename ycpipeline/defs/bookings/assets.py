"""The records asset: bookings per company and visit date, refreshed a range of partitions per run."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg
from sqlalchemy import text

from ycpipeline.defs.metadata import (
    KINDS,
    OWNERS,
    markdown_table,
    numbers,
    rejected_share_check,
    summed,
    table_metadata,
)
from ycpipeline.defs.partitions import partition_key, records_partitions, windows_by_company
from ycpipeline.defs.resources import WarehouseResource, YClientsResource
from ycpipeline.sync.changes import mark_reconciled
from ycpipeline.sync.companies import company_timezone
from ycpipeline.sync.records import RecordsResult, sync_records
from ycpipeline.warehouse.schema import records
from ycpipeline.warehouse.totals import records_by_date

GROUP = "yclients_bookings"
# Two companies page at once: with each company's own page threads that keeps the budget busy while
# staying within the warehouse engine's connection pool.
COMPANIES_AT_ONCE = 2
# Set by the reconciliation planner (`defs/freshness/planning.py`) on the run reconciling a company.
RECONCILE_TAG = "ycpipeline/reconcile"


def _missing_catalogue(
    warehouse: WarehouseResource, company_id: int, start: date, end: date
) -> dict[str, list[int]]:
    with warehouse.engine().connect() as conn:
        staff_ids = (
            conn.execute(
                text("""
            SELECT DISTINCT r.staff_id FROM yclients.records r
            WHERE r.company_id = :c AND r.visit_date BETWEEN :s AND :e AND r.staff_id IS NOT NULL AND r.staff_id <> 0
              AND NOT EXISTS (SELECT 1 FROM yclients.staff t WHERE t.company_id = r.company_id AND t.staff_id = r.staff_id)
        """),
                {"c": company_id, "s": start, "e": end},
            )
            .scalars()
            .all()
        )
        service_ids = (
            conn.execute(
                text("""
            SELECT DISTINCT l.service_id FROM yclients.record_services l
            JOIN yclients.records r USING (company_id, record_id)
            WHERE r.company_id = :c AND r.visit_date BETWEEN :s AND :e
              AND NOT EXISTS (SELECT 1 FROM yclients.services s
                              WHERE s.company_id = l.company_id AND s.service_id = l.service_id)
        """),
                {"c": company_id, "s": start, "e": end},
            )
            .scalars()
            .all()
        )
    return {"staff": sorted(staff_ids), "services": sorted(service_ids)}


def _stored_count(warehouse: WarehouseResource, company_id: int, start: date, end: date) -> int:
    with warehouse.engine().connect() as conn:
        return conn.execute(
            text(
                "SELECT count(*) FROM yclients.records WHERE company_id = :c AND visit_date BETWEEN :s AND :e"
            ),
            {"c": company_id, "s": start, "e": end},
        ).scalar_one()


def _count_mismatch_text(m: dict[str, Any]) -> str:
    how = {
        "stable": "the same in two passes",
        "drift": "changing on every pass",
    }.get(m["paging"], "fewer stored than received")
    return (
        f"company {m['company_id']} {m['window']}: the API announced total_count {m['api_total_count']}, "
        f"listed {m['received']} records ({how}), {m['stored']} stored"
    )


@dg.asset(
    group_name=GROUP,
    kinds=KINDS,
    owners=OWNERS,
    tags={"source": "yclients", "domain": "bookings"},
    partitions_def=records_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="yclients_records",
    deps=["yclients_services", "yclients_staff"],
    metadata=table_metadata(records),
    description="Records (appointments) per company and local visit date: yclients.records and "
    "yclients.record_services. Each partition is a full refresh: records the API no longer returns are "
    "re-read by id (moved → new date, gone → deleted). One run covers a whole range with one paged query. "
    "Each partition's metadata is its own: the records stored for that date, its completed visits and "
    "deletions (change capture adds what it changed there); what a run did over its whole range is in "
    "the records_count_matches_api check.",
    check_specs=[
        dg.AssetCheckSpec(
            "records_rejected_share",
            asset="yclients_records",
            description="Share of records that failed validation (warn > 1%, error > 10%)",
        ),
        dg.AssetCheckSpec(
            "records_catalogue_integrity",
            asset="yclients_records",
            description="Every record's staff and services exist in the catalogue",
        ),
        dg.AssetCheckSpec(
            "records_count_matches_api",
            asset="yclients_records",
            description="Records stored for the window equal what the API listed (total_count); its "
            "metadata holds what the run did, by company",
        ),
    ],
)
def yclients_records(
    context: dg.AssetExecutionContext, yclients: YClientsResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Refresh the records of the run's partitions (a range of dates per company)."""
    client = yclients.client()
    requests_before, pages_before = client.stats.requests, client.stats.pages
    results: list[RecordsResult] = []
    missing: dict[str, set[int]] = {"staff": set(), "services": set()}
    count_mismatches = []
    windows = sorted(windows_by_company(context.partition_keys).items())
    reconciling = context.run.tags.get(RECONCILE_TAG)

    def refresh(company_id: int, start: date, end: date) -> RecordsResult:
        tz = company_timezone(client, warehouse.engine(), company_id)
        started = datetime.now(UTC)
        result = sync_records(
            client, warehouse.engine(), company_id, tz, start, end, run_id=context.run.run_id
        )
        # A window whose pages kept changing while read may have skipped a record: not reconciled.
        if reconciling == str(company_id) and result.count_mismatch != "drift":
            mark_reconciled(warehouse.engine(), company_id, started)
        return result

    # Companies load side by side: the shared API budget sets the pace either way, and one company's
    # final merge then overlaps another's paging instead of leaving the budget idle. A company that
    # fails does not stop the others; its error fails the step once they are done.
    with ThreadPoolExecutor(max_workers=COMPANIES_AT_ONCE, thread_name_prefix="records") as pool:
        futures = [pool.submit(refresh, company_id, start, end) for company_id, (start, end) in windows]
    failures = [error for f in futures if (error := f.exception()) is not None]
    for future in futures:
        if future.exception() is not None:
            continue
        result = future.result()
        company_id, start, end = result.company_id, result.start, result.end
        context.log.info(f"records of company {company_id} {start}..{end}: {result.as_dict()}")
        results.append(result)
        for kind, ids in _missing_catalogue(warehouse, company_id, start, end).items():
            missing[kind].update(ids)
        stored = _stored_count(warehouse, company_id, start, end)
        expected = result.fetched - result.moved_out - result.rejected
        if stored < expected or result.count_mismatch:
            count_mismatches.append(
                {
                    "company_id": company_id,
                    "window": f"{start}..{end}",
                    "api_total_count": result.api_total_count,
                    "received": result.fetched,
                    "stored": stored,
                    "paging": result.count_mismatch or "consistent",
                }
            )
    if failures:
        raise failures[0]
    _add_partition_counts(context, warehouse, results)
    totals = summed([r.as_dict() for r in results])
    by_company = {str(r.company_id): {"window": f"{r.start}..{r.end}", **r.as_dict()} for r in results}
    return dg.MaterializeResult(
        check_results=[
            rejected_share_check(
                "records_rejected_share", "yclients_records", totals["rejected"], totals["fetched"]
            ),
            dg.AssetCheckResult(
                check_name="records_catalogue_integrity",
                asset_key="yclients_records",
                passed=not (missing["staff"] or missing["services"]),
                severity=dg.AssetCheckSeverity.WARN,
                metadata={
                    "missing_staff_ids": str(sorted(missing["staff"])[:50]),
                    "missing_service_ids": str(sorted(missing["services"])[:50]),
                },
            ),
            dg.AssetCheckResult(
                check_name="records_count_matches_api",
                asset_key="yclients_records",
                passed=not count_mismatches,
                metadata={
                    "mismatches": markdown_table(count_mismatches),
                    **numbers(totals),
                    "api_requests": dg.MetadataValue.int(client.stats.requests - requests_before),
                    "pages": dg.MetadataValue.int(client.stats.pages - pages_before),
                    "by_company": markdown_table([{"company_id": c, **row} for c, row in by_company.items()]),
                    "by_company_json": dg.MetadataValue.json(by_company),
                },
                description="; ".join(_count_mismatch_text(m) for m in count_mismatches) or None,
            ),
        ],
    )


def _add_partition_counts(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, results: list[RecordsResult]
) -> None:
    """Give each partition of the run its own counts (records, completed visits, deletions of that
    date), instead of the range's totals repeated on every partition."""
    with warehouse.engine().connect() as conn:
        for result in results:
            days = [result.start + timedelta(days=i) for i in range((result.end - result.start).days + 1)]
            for day, counts in records_by_date(conn, result.company_id, days).items():
                context.add_asset_metadata(
                    numbers(counts), partition_key=partition_key(result.company_id, day)
                )
