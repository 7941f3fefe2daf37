"""The one error policy of every per-company asset: each company of the run is loaded on its own; a
company that fails (a rejected token, an outage, data no loader foresaw) never stops the others.

When every company succeeded, each partition gets its own metadata and the run succeeds. When one
failed, the others' partitions are materialized one by one, the checks are reported, and the step
fails naming the failed companies: their partitions turn failed (red in the UI) and the run is failed,
so "backfill failed partitions" repairs exactly them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, TypeVar

import dagster as dg
from sqlalchemy import Engine, Table

from ycpipeline.client import YClientsClient
from ycpipeline.defs.drift_checks import drift_check_result
from ycpipeline.defs.metadata import (
    FAILED_COMPANIES,
    companies_ok_check,
    company_failed,
    markdown_table,
    numbers,
    rejected_share_check,
    summed,
)
from ycpipeline.defs.partitions import run_companies
from ycpipeline.warehouse.totals import rows_by_company

Result = TypeVar("Result")


def load_each_company(
    context: dg.AssetExecutionContext, what: str, load: Callable[[int], Result], *, at_once: int = 1
) -> tuple[dict[int, Result], dict[int, str]]:
    """Run `load` for each company of the run (`at_once` side by side); returns the results and the
    failures, by company."""
    results: dict[int, Result] = {}
    failures: dict[int, str] = {}

    def one(company_id: int) -> None:
        try:
            results[company_id] = load(company_id)
        except Exception as exc:
            company_failed(context.log, failures, company_id, what, exc)

    companies = run_companies(context)
    if at_once <= 1 or len(companies) <= 1:
        for company_id in companies:
            one(company_id)
    else:
        # The shared API budget sets the pace either way; side by side, one company's final merge
        # overlaps another's paging instead of leaving the budget idle.
        with ThreadPoolExecutor(max_workers=at_once, thread_name_prefix=what) as pool:
            list(pool.map(one, companies))
    return dict(sorted(results.items())), dict(sorted(failures.items()))


def partition_metadata(
    engine: Engine, table: Table, counts: Mapping[int, Mapping[str, int]]
) -> dict[int, dict[str, dg.MetadataValue]]:
    """Each company's own counts with its rows in `table` (`dagster/row_count`), as metadata."""
    with engine.connect() as conn:
        rows = rows_by_company(conn, table, list(counts))
    return {company: numbers({**own, "dagster/row_count": rows[company]}) for company, own in counts.items()}


# What a per-company asset's body yields: its outcome, or the events of a run in which a company failed.
Outcome = Iterator[dg.MaterializeResult | dg.AssetMaterialization | dg.AssetCheckResult]


def finish(
    context: dg.AssetExecutionContext,
    asset: str,
    own: Mapping[int, Mapping[str, dg.MetadataValue]],
    failures: Mapping[int, str],
    checks: Sequence[dg.AssetCheckResult],
) -> Outcome:
    """The step's outcome: every partition materialized with its own metadata, or (a company failed)
    the others' partitions materialized and the checks reported, then a `Failure` naming the failed
    ones (the events are yielded, not logged, so they are stored before the step fails)."""
    if not failures:
        for company, metadata in own.items():
            context.add_asset_metadata(dict(metadata), partition_key=str(company))
        yield dg.MaterializeResult(check_results=list(checks))
        return
    for company, metadata in own.items():
        yield dg.AssetMaterialization(asset_key=asset, partition=str(company), metadata=metadata)
    yield from checks
    named = "; ".join(f"company {c}: {m}" for c, m in sorted(failures.items()))
    raise dg.Failure(
        description=f"{asset}: {len(failures)} of {len(failures) + len(own)} companies failed ({named}). "
        "Fix the cause, then backfill the failed partitions (UI: the asset's partitions, or "
        "`ycpipeline sync --company ID`); the next tick retries them too.",
        metadata={FAILED_COMPANIES: dg.MetadataValue.json({str(c): m for c, m in sorted(failures.items())})},
    )


class CompanyLoad(Protocol):
    """What loading one company's part of a stream returns."""

    def as_dict(self) -> dict[str, int]:
        """Its counts (`fetched`, `created`, …, `rejected`)."""
        ...


def materialize_companies(
    context: dg.AssetExecutionContext,
    *,
    asset: str,
    prefix: str,
    table: Table,
    engine: Engine,
    client: YClientsClient,
    load: Callable[[int], CompanyLoad],
    extra: Callable[[], Mapping[str, dg.MetadataValue]] | None = None,
    drift_of: str | None = None,
) -> Outcome:
    """Load each company of the run with `load` and report it the one way every per-company asset does:
    each partition its own counts and rows, the `{prefix}_rejected_share` and `{prefix}_companies_ok`
    checks (the latter with what the run did by company, plus `extra()` read after the loads), and, for the
    stream `drift_of`, `{prefix}_schema_drift`; a failed company failing its partition."""
    requests_before = client.stats.requests
    results, failures = load_each_company(context, prefix, load)
    by_company = {c: r.as_dict() for c, r in results.items()}
    for company, counts in by_company.items():
        context.log.info(f"{asset} of company {company}: {counts}")
    totals = summed(list(by_company.values()))
    checks = [
        rejected_share_check(
            f"{prefix}_rejected_share", asset, totals.get("rejected", 0), totals.get("fetched", 0)
        ),
        companies_ok_check(
            f"{prefix}_companies_ok",
            asset,
            failures,
            metadata={
                **numbers(totals),
                "api_requests": dg.MetadataValue.int(client.stats.requests - requests_before),
                "by_company": markdown_table([{"company_id": c, **row} for c, row in by_company.items()]),
                "by_company_json": dg.MetadataValue.json({str(c): row for c, row in by_company.items()}),
                **(extra() if extra else {}),
            },
        ),
    ]
    if drift_of is not None:
        checks.append(drift_check_result(engine, prefix, asset, drift_of, run_companies(context)))
    yield from finish(context, asset, partition_metadata(engine, table, by_company), failures, checks)
