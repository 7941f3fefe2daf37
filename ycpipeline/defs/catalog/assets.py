"""Catalogue assets: the services and staff of every configured company."""

import dagster as dg

from ycpipeline.client import YClientsError
from ycpipeline.defs.metadata import (
    KINDS,
    OWNERS,
    companies_ok_check,
    markdown_table,
    rejected_share_check,
    summed,
)
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
        except YClientsError as exc:
            # One company's rejected token or outage must not stop the others (or the records and ledger).
            failures[company_id] = str(exc)
            context.log.error(f"{entity} of company {company_id} failed: {exc}")
            continue
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
            ),
            companies_ok_check(f"{entity}_companies_ok", f"yclients_{entity}", failures),
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
        ),
        dg.AssetCheckSpec(
            "services_companies_ok",
            asset="yclients_services",
            description="Every company's services were read; a failure names the company and the error",
        ),
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
        ),
        dg.AssetCheckSpec(
            "staff_companies_ok",
            asset="yclients_staff",
            description="Every company's staff were read; a failure names the company and the error",
        ),
    ],
)
def yclients_staff(
    context: dg.AssetExecutionContext, yclients: YClientsResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Refresh yclients.staff."""
    return _materialize("staff", context, yclients, warehouse)
