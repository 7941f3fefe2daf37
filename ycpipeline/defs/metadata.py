"""The conventions every asset of this code location follows, in one place (docs/dagster.md).

- Definition metadata: `table_metadata(table)` (`dagster/table_name`, `dagster/column_schema`) on
  every asset that is a warehouse table; `KINDS`, `OWNERS`; `FRESH_WITHIN_30_MINUTES` on what the
  30-minute schedule refreshes; code references (`definitions.py` adds them, `code_reference()` for
  source assets).
- Materialization metadata: `numbers(...)` for counts, so the UI plots them: each run's own deltas
  (`created`, `updated`…) next to the table's totals (`dagster/row_count`, `…_total`). A partition's
  metadata is that partition's own (`context.add_asset_metadata(..., partition_key=…)`), never a
  range's sum repeated on every partition.
- Checks: `company_check_specs` declares them, `rejected_share_check`, `companies_ok_check` yield them.
- Companies: any error of one company's part (API or data) is caught per company, reported by
  `company_failed` in its `companies_ok` check, and never stops the other companies.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

import dagster as dg
from sqlalchemy import Table

from ycpipeline.client import YClientsError

KINDS = {"yclients", "postgres", "pandas"}
OWNERS = ["team:data"]

# The README's promise: every 30 minutes a tick captures the records' changes and derives the ledger.
# A run takes a few minutes, so the data is late after 35 minutes and has missed a tick after 60 (the
# UI rounds any window from 45 minutes up to "an hour": a whole hour says what it shows).
FRESH_WITHIN_30_MINUTES = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(minutes=60), warn_window=timedelta(minutes=35)
)
# The catalogue refreshes daily and on its own webhooks (service, staff): late after a missed night.
FRESH_WITHIN_A_DAY = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=26), warn_window=timedelta(hours=25)
)


def code_reference(function: Callable[..., Any]) -> dict[str, dg.CodeReferencesMetadataValue]:
    """`dagster/code_references` pointing at `function`, for what `with_source_code_references` skips
    (source assets)."""
    reference = dg.LocalFileCodeReference(
        file_path=str(inspect.getsourcefile(function)), line_number=inspect.getsourcelines(function)[1]
    )
    return {"dagster/code_references": dg.CodeReferencesMetadataValue(code_references=[reference])}


def numbers(counts: Mapping[str, int | float]) -> dict[str, dg.MetadataValue]:
    """Counts as numeric metadata values (plotted by the UI across materializations)."""
    return {
        key: dg.MetadataValue.int(value) if isinstance(value, int) else dg.MetadataValue.float(value)
        for key, value in counts.items()
    }


def markdown_table(
    rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None
) -> dg.MarkdownMetadataValue:
    """A small Markdown table (previews, per-company counts)."""
    if not rows:
        return dg.MetadataValue.md("_(none)_")
    cols = list(columns or rows[0].keys())
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in rows:
        cells = [str(row.get(c, "")).replace("|", "\\|").replace("\n", " ")[:80] for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    return dg.MetadataValue.md("\n".join(lines))


def company_check_specs(prefix: str, asset: str, rows: str = "rows") -> list[dg.AssetCheckSpec]:
    """The two checks of an asset that loads company by company, yielded with its materialization by
    `rejected_share_check` and `companies_ok_check`: `{prefix}_rejected_share`, `{prefix}_companies_ok`."""
    return [
        dg.AssetCheckSpec(
            f"{prefix}_rejected_share",
            asset=asset,
            description=f"Share of {rows} that failed validation (warn > 1%, error > 10%; yclients.rejected_rows)",
        ),
        dg.AssetCheckSpec(
            f"{prefix}_companies_ok",
            asset=asset,
            description="Every company's part succeeded; a failure names the company and the error",
        ),
    ]


def rejected_share_check(
    check_name: str,
    asset_key: str,
    rejected: int,
    total: int,
    *,
    warn_above: float = 0.01,
    error_above: float = 0.10,
) -> dg.AssetCheckResult:
    """Pass while the rejected share is small; warn above `warn_above`, fail above `error_above`."""
    share = rejected / total if total else 0.0
    severity = dg.AssetCheckSeverity.ERROR if share > error_above else dg.AssetCheckSeverity.WARN
    return dg.AssetCheckResult(
        check_name=check_name,
        asset_key=asset_key,
        passed=share <= warn_above,
        severity=severity,
        metadata={"rejected": rejected, "total": total, "share": round(share, 4)},
        description="see yclients.rejected_rows for the reasons" if rejected else None,
    )


def company_failed(
    log: logging.Logger, failures: dict[int, str], company_id: int, what: str, exc: Exception
) -> None:
    """Record one company's failed part in `failures` (for `companies_ok_check`) and log it.

    An API error is reported by its own message (it says what to do); any other error (data of that
    company no loader foresaw) by its type and message, with its traceback in the log.
    """
    unforeseen = not isinstance(exc, YClientsError)
    failures[company_id] = f"{type(exc).__name__}: {exc}" if unforeseen else str(exc)
    log.error(f"{what} of company {company_id} failed: {failures[company_id]}", exc_info=unforeseen)


# Where `companies_ok_check` names the failed companies; read back by `named_failures`.
FAILED_COMPANIES = "failed_companies"


def named_failures(evaluation: dg.AssetCheckEvaluation) -> dict[int, str]:
    """The companies a failed ERROR check named (`companies_ok_check`), with their errors; {} otherwise."""
    if evaluation.passed or evaluation.severity != dg.AssetCheckSeverity.ERROR:
        return {}
    named = evaluation.metadata.get(FAILED_COMPANIES)
    if named is None or not isinstance(named.value, dict):
        return {}
    return {int(company): str(message) for company, message in named.value.items()}


def companies_ok_check(
    check_name: str,
    asset_key: str,
    failures: Mapping[int, str],
    metadata: Mapping[str, dg.MetadataValue] | None = None,
) -> dg.AssetCheckResult:
    """Fails (severity ERROR) naming each company whose part of the run failed, with its error;
    `metadata` adds what the run did (by company)."""
    return dg.AssetCheckResult(
        check_name=check_name,
        asset_key=asset_key,
        passed=not failures,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            **(metadata or {}),
            FAILED_COMPANIES: dg.MetadataValue.json({str(c): m for c, m in sorted(failures.items())}),
        },
        description="; ".join(f"company {c}: {m}" for c, m in sorted(failures.items())) or None,
    )


def summed(counts: Sequence[Mapping[str, int]]) -> dict[str, int]:
    """Per-company counts added up, key by key (a key some companies lack counts 0 for them)."""
    keys = dict.fromkeys(key for c in counts for key in c)
    return {key: sum(c.get(key, 0) for c in counts) for key in keys}


def table_metadata(table: Table) -> dict[str, Any]:
    """`dagster/table_name` and `dagster/column_schema` of a warehouse table, read from its SQLAlchemy
    definition so the UI's schema can never drift from the migrations' tables."""
    columns = [
        dg.TableColumn(
            name=column.name,
            type=str(column.type).lower(),
            description=column.comment,
            constraints=dg.TableColumnConstraints(nullable=bool(column.nullable)),
        )
        for column in table.columns
    ]
    # The keys Dagster's UI reads for a table's name and schema (its `TableMetadataSet`).
    return {
        "dagster/table_name": f"{table.schema}.{table.name}" if table.schema else table.name,
        "dagster/column_schema": dg.TableSchema(columns=columns),
    }
