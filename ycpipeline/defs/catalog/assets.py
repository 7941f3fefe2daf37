"""Catalogue assets: the services and staff of each company (one partition per company), built by one
factory. Refreshed daily, on the `service` and `staff` webhooks, and by every window refresh: not by the
30-minute tick, which stays at one request per company."""

import dagster as dg
from sqlalchemy import Table

from ycpipeline.defs.metadata import (
    FRESH_WITHIN_A_DAY,
    KINDS,
    OWNERS,
    company_check_specs,
    markdown_table,
    table_metadata,
)
from ycpipeline.defs.partitions import company_partitions
from ycpipeline.defs.per_company import Outcome, materialize_companies
from ycpipeline.defs.resources import WarehouseResource, YClientsResource
from ycpipeline.sync.catalog import CatalogEntity, CatalogResult, sync_catalog
from ycpipeline.warehouse.schema import services, staff

GROUP = "yclients_catalog"


def catalog_asset(entity: CatalogEntity, table: Table, description: str) -> dg.AssetsDefinition:
    """The full-refresh asset of one catalogue entity (`yclients_services`, `yclients_staff`)."""
    name = f"yclients_{entity}"

    @dg.asset(
        name=name,
        group_name=GROUP,
        kinds=KINDS,
        owners=OWNERS,
        tags={"source": "yclients", "domain": "catalog"},
        partitions_def=company_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        metadata=table_metadata(table),
        freshness_policy=FRESH_WITHIN_A_DAY,
        description=description,
        check_specs=company_check_specs(entity, name, entity),
    )
    def refresh(
        context: dg.AssetExecutionContext, yclients: YClientsResource, warehouse: WarehouseResource
    ) -> Outcome:
        client = yclients.client()
        template = yclients.service_link_template if entity == "services" else yclients.staff_link_template
        previews: list[CatalogResult] = []

        def load(company_id: int) -> CatalogResult:
            result = sync_catalog(
                entity,
                client,
                warehouse.engine(),
                company_id,
                form_url=yclients.booking_form_url,
                link_template=template,
                run_id=context.run.run_id,
            )
            previews.append(result)
            return result

        yield from materialize_companies(
            context,
            asset=name,
            prefix=entity,
            table=table,
            engine=warehouse.engine(),
            client=client,
            load=load,
            extra=lambda: {"preview": markdown_table([row for r in previews for row in r.preview][:5])},
        )

    return refresh


yclients_services = catalog_asset(
    "services",
    services,
    "Services of each company (yclients.services), with booking links; services the API no longer "
    "lists get `removed_at`. Full refresh per company.",
)
yclients_staff = catalog_asset(
    "staff",
    staff,
    "Staff of each company (yclients.staff), with booking links; fired and hidden flags kept. Full refresh "
    "per company.",
)
