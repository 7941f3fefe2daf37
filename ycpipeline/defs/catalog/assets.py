"""Catalogue assets: the services and staff of every configured company, built by one factory."""

import dagster as dg
from sqlalchemy import Table

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
from ycpipeline.defs.resources import WarehouseResource, YClientsResource
from ycpipeline.sync.catalog import CatalogEntity, CatalogResult, sync_catalog
from ycpipeline.warehouse.schema import services, staff
from ycpipeline.warehouse.totals import catalog_totals

GROUP = "yclients_catalog"


def _materialize(
    entity: CatalogEntity,
    context: dg.AssetExecutionContext,
    yclients: YClientsResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    client = yclients.client()
    requests_before = client.stats.requests
    template = yclients.service_link_template if entity == "services" else yclients.staff_link_template
    results: list[CatalogResult] = []
    failures: dict[int, str] = {}
    for company_id in yclients.companies():
        try:
            result = sync_catalog(
                entity,
                client,
                warehouse.engine(),
                company_id,
                form_url=yclients.booking_form_url,
                link_template=template,
                run_id=context.run.run_id,
            )
        except Exception as exc:
            # Any error of one company's part (a rejected token, an outage, data no loader foresaw) fails
            # that part only: never the other companies, the catalogue or the ledger.
            company_failed(context.log, failures, company_id, entity, exc)
            continue
        context.log.info(f"{entity} of company {company_id}: {result.as_dict()}")
        results.append(result)
    totals = summed([r.as_dict() for r in results])
    with warehouse.engine().connect() as conn:
        held = catalog_totals(conn, entity)
    return dg.MaterializeResult(
        metadata={
            **numbers(totals),
            **numbers(held),
            "api_requests": dg.MetadataValue.int(client.stats.requests - requests_before),
            "by_company": markdown_table([{"company_id": r.company_id, **r.as_dict()} for r in results]),
            "preview": markdown_table([row for r in results for row in r.preview][:5]),
        },
        check_results=[
            rejected_share_check(
                f"{entity}_rejected_share",
                f"yclients_{entity}",
                totals.get("rejected", 0),
                totals.get("fetched", 0),
            ),
            companies_ok_check(f"{entity}_companies_ok", f"yclients_{entity}", failures),
        ],
    )


def catalog_asset(entity: CatalogEntity, table: Table, description: str) -> dg.AssetsDefinition:
    """The full-refresh asset of one catalogue entity (`yclients_services`, `yclients_staff`)."""
    name = f"yclients_{entity}"

    @dg.asset(
        name=name,
        group_name=GROUP,
        kinds=KINDS,
        owners=OWNERS,
        tags={"source": "yclients", "domain": "catalog"},
        metadata=table_metadata(table),
        freshness_policy=FRESH_WITHIN_30_MINUTES,
        description=description,
        check_specs=company_check_specs(entity, name, entity),
    )
    def refresh(
        context: dg.AssetExecutionContext, yclients: YClientsResource, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        return _materialize(entity, context, yclients, warehouse)

    return refresh


yclients_services = catalog_asset(
    "services",
    services,
    "Services of each company (yclients.services), with booking links; services the API no longer "
    "lists get `removed_at`. Full refresh.",
)
yclients_staff = catalog_asset(
    "staff",
    staff,
    "Staff of each company (yclients.staff), with booking links; fired and hidden flags kept. Full refresh.",
)
