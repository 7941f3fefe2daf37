"""Helpers shaping materialization metadata for the Dagster UI."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dagster as dg
from sqlalchemy import Table

KINDS = {"yclients", "postgres", "pandas"}
OWNERS = ["team:data"]


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


def companies_ok_check(check_name: str, asset_key: str, failures: dict[int, str]) -> dg.AssetCheckResult:
    """Fails (severity ERROR) naming each company whose part of the run failed, with its error."""
    return dg.AssetCheckResult(
        check_name=check_name,
        asset_key=asset_key,
        passed=not failures,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "failed_companies": dg.MetadataValue.json({str(c): m for c, m in sorted(failures.items())})
        },
        description="; ".join(f"company {c}: {m}" for c, m in sorted(failures.items())) or None,
    )


def summed(counts: Sequence[dict[str, int]]) -> dict[str, int]:
    """Per-company counts added up, key by key."""
    return {key: sum(c[key] for c in counts) for key in (counts[0] if counts else {})}


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
