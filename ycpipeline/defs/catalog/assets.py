"""Catalogue assets: the services and staff of every configured company."""

import dagster as dg

from ycpipeline.defs.metadata import KINDS, OWNERS, markdown_table, rejected_share_check, summed
from ycpipeline.defs.resources import WarehouseResource, YClientsResource
from ycpipeline.sync.catalog import CatalogEntity, CatalogResult, sync_catalog

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
    for company_id in yclients.companies():
        result = sync_catalog(
            entity,
            client,
            warehouse.engine(),
            company_id,
            form_url=yclients.booking_form_url,
            link_template=template,
            run_id=context.run.run_id,
        )
        context.log.info(f"{entity} of company {company_id}: {result.as_dict()}")
        results.append(result)
    totals = summed([r.as_dict() for r in results])
    return dg.MaterializeResult(
        metadata={
            **{k: dg.MetadataValue.int(v) for k, v in totals.items()},
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
            )
        ],
    )


@dg.asset(
    group_name=GROUP,
    kinds=KINDS,
    owners=OWNERS,
    tags={"source": "yclients", "domain": "catalog"},
    description="Services of each company (yclients.services), with booking links; services the API "
    "no longer lists get `removed_at`. Full refresh.",
    check_specs=[
        dg.AssetCheckSpec(
            "services_rejected_share",
            asset="yclients_services",
            description="Share of services that failed validation (warn > 1%, error > 10%)",
        )
    ],
)
def yclients_services(
    context: dg.AssetExecutionContext, yclients: YClientsResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Refresh yclients.services."""
    return _materialize("services", context, yclients, warehouse)


@dg.asset(
    group_name=GROUP,
    kinds=KINDS,
    owners=OWNERS,
    tags={"source": "yclients", "domain": "catalog"},
    description="Staff of each company (yclients.staff), with booking links; fired and hidden flags kept. "
    "Full refresh.",
    check_specs=[
        dg.AssetCheckSpec(
            "staff_rejected_share",
            asset="yclients_staff",
            description="Share of staff that failed validation (warn > 1%, error > 10%)",
        )
    ],
)
def yclients_staff(
    context: dg.AssetExecutionContext, yclients: YClientsResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Refresh yclients.staff."""
    return _materialize("staff", context, yclients, warehouse)
