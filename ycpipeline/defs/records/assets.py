"""The records asset: one partition per company, materialized by change capture (every record changed
since the company's watermark, whatever its visit date), with a reconciliation of a wide window when it
is due, or a window of visit dates when the run's config asks for one."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg
from pydantic import Field
from sqlalchemy import Engine, text

from ycpipeline.defs.automation.planning import due_for_reconciliation, reconcile_window
from ycpipeline.defs.automation.resources import FreshnessResource
from ycpipeline.defs.drift_checks import drift_check_result, drift_check_spec
from ycpipeline.defs.metadata import (
    FRESH_WITHIN_30_MINUTES,
    KINDS,
    OWNERS,
    companies_ok_check,
    markdown_table,
    rejected_share_check,
    summed,
    table_metadata,
)
from ycpipeline.defs.partitions import company_partitions, run_companies
from ycpipeline.defs.per_company import Outcome, finish, load_each_company, partition_metadata
from ycpipeline.defs.resources import WarehouseResource, YClientsResource
from ycpipeline.sync.changes import ChangesResult, capture_changes, mark_reconciled, read_states
from ycpipeline.sync.companies import company_timezone
from ycpipeline.sync.records import RecordsResult, sync_records
from ycpipeline.warehouse.schema import records

GROUP = "yclients_bookings"
ASSET = "yclients_records"
# Two companies load at once: with each company's own page threads that keeps the budget busy while
# staying within the warehouse engine's connection pool.
COMPANIES_AT_ONCE = 2
WATERMARK_CHECK = "records_watermark_advanced"
COUNT_CHECK = "records_count_matches_api"
COMPANIES_CHECK = "records_companies_ok"


class RecordsConfig(dg.Config):
    """What a run of the records does besides change capture."""

    reread_record_ids: dict[str, list[int]] = Field(
        default_factory=dict, description="Per company id, records to re-read by id (webhook deletions)"
    )
    window_start: str | None = Field(
        default=None,
        description="With window_end: re-read every record of these visit dates (YYYY-MM-DD) instead of "
        "capturing changes (a window refresh; records the API no longer lists are re-read by id)",
    )
    window_end: str | None = Field(default=None, description="The window's last visit date (YYYY-MM-DD)")

    def window(self) -> tuple[date, date] | None:
        """The window asked for, or None; ValueError when only one end is given or it is reversed."""
        if self.window_start is None and self.window_end is None:
            return None
        if self.window_start is None or self.window_end is None:
            raise ValueError("a window needs both window_start and window_end")
        start, end = date.fromisoformat(self.window_start), date.fromisoformat(self.window_end)
        if end < start:
            raise ValueError(f"window_end {end} is before window_start {start}")
        return start, end


@dataclass
class CompanyRecords:
    """What one run did to one company's records."""

    company_id: int
    changes: ChangesResult | None = None
    window: RecordsResult | None = None  # a window refresh or a reconciliation
    reconciled: bool = False

    def counts(self) -> dict[str, int]:
        """The company's counts for its partition's metadata (what changed, what was re-read)."""
        counts: dict[str, int] = {}
        if self.changes is not None:
            counts.update(self.changes.as_dict())
        if self.window is not None:
            for key, value in self.window.as_dict().items():
                counts[f"window_{key}"] = value
        counts["reconciled"] = int(self.reconciled)
        return counts

    def fetched_and_rejected(self) -> tuple[int, int]:
        """Records received and quarantined, over change capture and the window."""
        parts = [p for p in (self.changes, self.window) if p is not None]
        return sum(p.fetched for p in parts), sum(p.rejected for p in parts)


def _missing_catalogue(engine: Engine, company_ids: list[int], since: datetime) -> dict[str, list[int]]:
    """Staff and services the companies' records stored since `since` name but the catalogue lacks."""
    with engine.connect() as conn:
        staff_ids = conn.execute(
            text("""
                SELECT DISTINCT r.staff_id FROM yclients.records r
                WHERE r.company_id = ANY(CAST(:c AS bigint[])) AND r.synced_at >= :since
                  AND r.staff_id IS NOT NULL AND r.staff_id <> 0
                  AND NOT EXISTS (SELECT 1 FROM yclients.staff t
                                  WHERE t.company_id = r.company_id AND t.staff_id = r.staff_id)
            """),
            {"c": company_ids, "since": since},
        ).scalars()
        service_ids = conn.execute(
            text("""
                SELECT DISTINCT l.service_id FROM yclients.record_services l
                JOIN yclients.records r USING (company_id, record_id)
                WHERE r.company_id = ANY(CAST(:c AS bigint[])) AND r.synced_at >= :since
                  AND NOT EXISTS (SELECT 1 FROM yclients.services s
                                  WHERE s.company_id = l.company_id AND s.service_id = l.service_id)
            """),
            {"c": company_ids, "since": since},
        ).scalars()
        return {"staff": sorted(staff_ids), "services": sorted(service_ids)}


def _stored_count(engine: Engine, company_id: int, start: date, end: date) -> int:
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT count(*) FROM yclients.records WHERE company_id = :c AND visit_date BETWEEN :s AND :e"
            ),
            {"c": company_id, "s": start, "e": end},
        ).scalar_one()


def _count_mismatch(engine: Engine, result: RecordsResult) -> dict[str, Any] | None:
    """How a window's stored records disagree with what the API listed, or None when they agree."""
    stored = _stored_count(engine, result.company_id, result.start, result.end)
    expected = result.fetched - result.moved_out - result.rejected
    if stored >= expected and not result.count_mismatch:
        return None
    return {
        "company_id": result.company_id,
        "window": f"{result.start}..{result.end}",
        "api_total_count": result.api_total_count,
        "received": result.fetched,
        "stored": stored,
        "paging": result.count_mismatch or "consistent",
    }


def _count_mismatch_text(m: dict[str, Any]) -> str:
    how = {
        "stable": "the same in two passes",
        "drift": "changing on every pass",
    }.get(m["paging"], "fewer stored than received")
    return (
        f"company {m['company_id']} {m['window']}: the API announced total_count {m['api_total_count']}, "
        f"listed {m['received']} records ({how}), {m['stored']} stored"
    )


def watermark_check(check_name: str, asset_key: str, held: list[int]) -> dg.AssetCheckResult:
    """Warns naming each company whose pass stayed inconsistent in every re-read, so its watermark held."""
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


@dg.asset(
    name=ASSET,
    group_name=GROUP,
    kinds=KINDS,
    owners=OWNERS,
    tags={"source": "yclients", "domain": "bookings"},
    partitions_def=company_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="yclients_records",
    deps=["yclients_services", "yclients_staff"],
    metadata=table_metadata(records),
    freshness_policy=FRESH_WITHIN_30_MINUTES,
    description="Records (appointments) of each company: yclients.records, yclients.record_services and "
    "yclients.record_payments. One partition per company. A run captures every record changed since the "
    "company's watermark (yclients.sync_state), deleted ones included, whatever their visit date (the first "
    "run of a company is the full load of its history); when the company's reconciliation is due it also "
    "re-reads a wide window of visit dates; a run whose config names a window re-reads that window instead. "
    "Each partition's metadata holds what the run did to that company and its rows; one company's failure "
    "fails its own partition only.",
    check_specs=[
        drift_check_spec("records", ASSET),
        dg.AssetCheckSpec(
            "records_rejected_share",
            asset=ASSET,
            description="Share of records that failed validation (warn > 1%, error > 10%)",
        ),
        dg.AssetCheckSpec(
            "records_catalogue_integrity",
            asset=ASSET,
            description="Every record the run stored names staff and services the catalogue has",
        ),
        dg.AssetCheckSpec(
            COUNT_CHECK,
            asset=ASSET,
            description="Records stored for a re-read window equal what the API listed (total_count)",
        ),
        dg.AssetCheckSpec(
            COMPANIES_CHECK,
            asset=ASSET,
            description="Every company's part succeeded; a failure names the company and the error. Its "
            "metadata holds what the run did, by company",
        ),
        dg.AssetCheckSpec(
            WATERMARK_CHECK,
            asset=ASSET,
            description="Every company's watermark moved past what the pass read; a company whose listing "
            "kept changing under its pages in every re-read keeps its watermark (nothing is skipped: the "
            "next pass reads the same changes again) and is named here",
        ),
    ],
)
def yclients_records(
    context: dg.AssetExecutionContext,
    config: RecordsConfig,
    yclients: YClientsResource,
    warehouse: WarehouseResource,
    freshness: FreshnessResource,
) -> Outcome:
    """Capture each company's changes (or re-read the window asked for), reconciling where due."""
    client = yclients.client()
    engine = warehouse.engine()
    requests_before = client.stats.requests
    window = config.window()
    policy = freshness.change_policy()
    started = datetime.now(UTC)
    every = timedelta(hours=freshness.reconcile_every_hours)
    # Read once for the run's companies: a change-capture pass leaves `last_reconciled_at` as it was,
    # and a first load (no state yet) is not due either way.
    with engine.connect() as conn:
        states = read_states(conn, run_companies(context))

    def load(company_id: int) -> CompanyRecords:
        tz = company_timezone(client, engine, company_id)
        outcome = CompanyRecords(company_id)
        if window is not None:
            outcome.window = sync_records(client, engine, company_id, tz, *window, run_id=context.run.run_id)
            return outcome
        outcome.changes = capture_changes(
            client,
            engine,
            company_id,
            tz,
            policy,
            reread_ids=config.reread_record_ids.get(str(company_id), []),
            run_id=context.run.run_id,
        )
        now = datetime.now(UTC)
        if due_for_reconciliation(states, [company_id], now, every):
            start, end = reconcile_window(now.astimezone(tz).date(), freshness)
            outcome.window = sync_records(
                client, engine, company_id, tz, start, end, run_id=context.run.run_id
            )
            # A window whose pages kept changing while read may have skipped a record: not reconciled.
            if outcome.window.count_mismatch != "drift":
                mark_reconciled(engine, company_id, now)
                outcome.reconciled = True
        return outcome

    results, failures = load_each_company(context, "records", load, at_once=COMPANIES_AT_ONCE)
    for outcome in results.values():
        context.log.info(f"records of company {outcome.company_id}: {outcome.counts()}")
    missing = _missing_catalogue(engine, list(results), started)
    mismatches = [
        mismatch
        for outcome in results.values()
        if outcome.window is not None and (mismatch := _count_mismatch(engine, outcome.window))
    ]
    counted = [o.fetched_and_rejected() for o in results.values()]
    fetched, rejected = sum(f for f, _ in counted), sum(r for _, r in counted)
    by_company = {str(c): o.counts() for c, o in results.items()}
    held = [c for c, o in results.items() if o.changes is not None and o.changes.watermark_held]
    checks = [
        rejected_share_check("records_rejected_share", ASSET, rejected, fetched),
        dg.AssetCheckResult(
            check_name="records_catalogue_integrity",
            asset_key=ASSET,
            passed=not (missing["staff"] or missing["services"]),
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "missing_staff_ids": str(sorted(missing["staff"])[:50]),
                "missing_service_ids": str(sorted(missing["services"])[:50]),
            },
        ),
        dg.AssetCheckResult(
            check_name=COUNT_CHECK,
            asset_key=ASSET,
            passed=not mismatches,
            metadata={"mismatches": markdown_table(mismatches)},
            description="; ".join(_count_mismatch_text(m) for m in mismatches) or None,
        ),
        companies_ok_check(
            COMPANIES_CHECK,
            ASSET,
            failures,
            metadata={
                **{k: dg.MetadataValue.int(v) for k, v in summed(list(by_company.values())).items()},
                "api_requests": dg.MetadataValue.int(client.stats.requests - requests_before),
                "by_company": markdown_table([{"company_id": c, **row} for c, row in by_company.items()]),
                "by_company_json": dg.MetadataValue.json(by_company),
            },
        ),
        watermark_check(WATERMARK_CHECK, ASSET, held),
        drift_check_result(engine, "records", ASSET, "records", run_companies(context)),
    ]
    own = partition_metadata(engine, records, {c: o.counts() for c, o in results.items()})
    yield from finish(context, ASSET, own, failures, checks)
