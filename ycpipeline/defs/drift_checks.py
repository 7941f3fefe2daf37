"""The schema drift check of a per-company asset: `{prefix}_schema_drift`, a warning while any company of the
run has a field its stream's API items added, dropped or retyped (`yclients.schema_drift`). The load goes
on either way; the check only says the stream's declaration (or the API) needs a look."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import dagster as dg
from sqlalchemy import Connection, Engine

from ycpipeline.validation.drift import open_drifts

# How many drifts the check's metadata lists (the count covers all of them).
SHOWN_DRIFTS = 20
# The columns of each drift listed, in this order.
_SHOWN_COLUMNS = ("company_id", "stream", "field", "change", "kinds", "expected", "example", "first_seen_at")


def drift_check_spec(prefix: str, asset: str) -> dg.AssetCheckSpec:
    """`{prefix}_schema_drift` of `asset`, yielded with its materialization by `drift_check_result`."""
    return dg.AssetCheckSpec(
        f"{prefix}_schema_drift",
        asset=asset,
        description="The API's items carry the fields the stream declares, each of a declared JSON kind "
        "(warn on a field added, dropped or retyped; yclients.schema_drift). Loading goes on either way",
    )


def _shown(drift: dict[str, Any]) -> dict[str, Any]:
    """One drift as JSON metadata takes it (times as ISO text)."""
    values = {column: drift[column] for column in _SHOWN_COLUMNS}
    return {c: v.isoformat() if isinstance(v, datetime) else v for c, v in values.items()}


def drift_check_result(
    conn_or_engine: Connection | Engine,
    prefix: str,
    asset: str,
    stream: str | None,
    company_ids: Sequence[int],
) -> dg.AssetCheckResult:
    """Passes when no drift of `stream` (every stream when None) is open for `company_ids`; otherwise warns
    (severity WARN), with the count and the first SHOWN_DRIFTS drifts in its metadata."""
    if isinstance(conn_or_engine, Engine):
        with conn_or_engine.connect() as conn:
            drifts = open_drifts(conn, stream, company_ids)
    else:
        drifts = open_drifts(conn_or_engine, stream, company_ids)
    named = "; ".join(f"company {d['company_id']}: {d['field']} {d['change']}" for d in drifts[:5])
    more = f" and {len(drifts) - 5} more" if len(drifts) > 5 else ""
    return dg.AssetCheckResult(
        check_name=f"{prefix}_schema_drift",
        asset_key=asset,
        passed=not drifts,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "open_drifts": dg.MetadataValue.int(len(drifts)),
            "drifts": dg.MetadataValue.json([_shown(d) for d in drifts[:SHOWN_DRIFTS]]),
        },
        description=f"{named}{more} (yclients.schema_drift)" if drifts else None,
    )
