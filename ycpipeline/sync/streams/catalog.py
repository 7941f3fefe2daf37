"""Service categories and payment accounts: full lists read with the catalogue (one request each)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Engine

from ycpipeline.client import YClientsClient
from ycpipeline.normalize.streams import payment_account_row, service_category_row
from ycpipeline.sync.streams.load import Spec, StreamResult, finish, merge_staged, retire_unlisted, stage_rows
from ycpipeline.validation.streams import PaymentAccountRow, ServiceCategoryRow
from ycpipeline.warehouse.schema import payment_accounts, service_categories

CatalogExtra = Literal["service_categories", "payment_accounts"]

SPECS: dict[CatalogExtra, Spec] = {
    "service_categories": Spec(
        "service_categories",
        service_categories,
        ("company_id", "category_id"),
        ServiceCategoryRow,
        ("category_id", "title"),
    ),
    "payment_accounts": Spec(
        "payment_accounts",
        payment_accounts,
        ("company_id", "account_id"),
        PaymentAccountRow,
        ("account_id", "title"),
    ),
}
ROWS: dict[CatalogExtra, Callable[[Any, int, datetime], dict[str, Any]]] = {
    "service_categories": service_category_row,
    "payment_accounts": payment_account_row,
}


def sync_catalog_extra(
    entity: CatalogExtra,
    client: YClientsClient,
    engine: Engine,
    company_id: int,
    *,
    run_id: str | None = None,
) -> StreamResult:
    """Read the full list, quarantine invalid items, upsert the rest and retire what is no longer listed."""
    raw = (
        client.list_service_categories(company_id)
        if entity == "service_categories"
        else client.list_accounts(company_id)
    )
    synced_at = datetime.now(UTC)
    rows = [ROWS[entity](item, company_id, synced_at) for item in raw]
    spec = SPECS[entity]
    result = StreamResult(entity, company_id, fetched=len(rows))
    with engine.begin() as conn:
        staged = stage_rows(conn, spec, rows)
        result.counts = merge_staged(conn, spec, staged)
        result.retired = retire_unlisted(conn, spec, staged, company_id)
        return finish(conn, result, staged, run_id)
