"""Full refresh of the catalogue (services, staff) of one company: items the list no longer holds get
`removed_at`, only when the list is known whole (its distinct ids reach its `total_count`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import pandera.pandas as pa
from sqlalchemy import Engine, Table, text

from ycpipeline.client import Listing, YClientsClient
from ycpipeline.normalize.catalog import service_row, staff_row
from ycpipeline.sync.audit import log_sync, store_rejected
from ycpipeline.validation.models import ServiceRow, StaffRow
from ycpipeline.validation.quarantine import rejected_ids, validate_rows
from ycpipeline.warehouse.schema import services, staff
from ycpipeline.warehouse.upsert import MergeCounts, copy_rows, create_stage, merge_stage, qualified

log = logging.getLogger(__name__)

CatalogEntity = Literal["services", "staff"]


@dataclass(frozen=True)
class _EntitySpec:
    table: Table
    key: str
    model: type[pa.DataFrameModel]
    fetch: Callable[[YClientsClient, int], Listing]  # the client method listing the entity
    to_row: Callable[..., dict[str, Any]]


SPECS: dict[CatalogEntity, _EntitySpec] = {
    "services": _EntitySpec(
        services, "service_id", ServiceRow, lambda client, c: client.services_listing(c), service_row
    ),
    "staff": _EntitySpec(staff, "staff_id", StaffRow, lambda client, c: client.staff_listing(c), staff_row),
}


@dataclass
class CatalogResult:
    """What one catalogue refresh did."""

    entity: CatalogEntity
    company_id: int
    counts: MergeCounts = field(default_factory=MergeCounts)
    removed: int = 0
    rejected: int = 0
    fetched: int = 0
    # Why the list is not known whole (its ids fall short of its `total_count`), when it is not:
    # then nothing is marked removed.
    incomplete: str | None = None
    preview: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        """Counts for metadata and the sync log."""
        return {
            "fetched": self.fetched,
            **self.counts.as_dict(),
            "removed": self.removed,
            "rejected": self.rejected,
        }


def sync_catalog(
    entity: CatalogEntity,
    client: YClientsClient,
    engine: Engine,
    company_id: int,
    *,
    form_url: str | None,
    link_template: str,
    run_id: str | None = None,
) -> CatalogResult:
    """Fetch the full list, quarantine invalid items, upsert the rest and mark vanished ones removed.

    An item that comes back after removal has `removed_at` cleared by the same upsert.
    """
    spec = SPECS[entity]
    listing = spec.fetch(client, company_id)
    raw_items = [item for page in listing for item in page.items]
    synced_at = datetime.now(UTC)
    rows = [spec.to_row(item, company_id, synced_at, form_url, link_template) for item in raw_items]
    outcome = validate_rows(rows, spec.model, entity=entity, key=spec.key, table=spec.table)
    valid = [rows[i] for i in outcome.valid_positions]
    result = CatalogResult(
        entity, company_id, fetched=len(rows), rejected=len(outcome.rejected), incomplete=listing.shortfall()
    )
    if result.incomplete:
        log.warning(
            "%s of company %s came incomplete (%s): nothing is marked removed",
            entity,
            company_id,
            result.incomplete,
        )
    result.preview = [
        {k: v for k, v in row.items() if k not in ("raw", "synced_at", "problems")} for row in valid[:5]
    ]
    rejected_keys = rejected_ids(outcome.rejected)
    columns = [c.name for c in spec.table.columns]
    target = qualified(spec.table)
    with engine.begin() as conn:
        stage = create_stage(conn, spec.table)
        copy_rows(conn, stage, columns, ([row[c] for c in columns] for row in valid))
        compare = [c for c in columns if c not in ("company_id", spec.key, "synced_at")]
        result.counts = merge_stage(conn, spec.table, stage, keys=["company_id", spec.key], compare=compare)
        # Rejected items are still listed by the API: they are not "removed"; nor is anything when the
        # list is not known whole.
        if not result.incomplete:
            result.removed = conn.execute(
                text(f"""
                    UPDATE {target} t SET removed_at = :now, synced_at = :now
                    WHERE t.company_id = :company_id AND t.removed_at IS NULL
                      AND NOT EXISTS (SELECT 1 FROM {stage} s WHERE s.{spec.key} = t.{spec.key})
                      AND NOT (t.{spec.key} = ANY(:rejected))
                """),
                {"now": synced_at, "company_id": company_id, "rejected": rejected_keys},
            ).rowcount
        store_rejected(conn, outcome.rejected, run_id)
        log_sync(conn, entity, company_id, result.as_dict(), run_id)
    return result
