"""Assets of the streams beside the records: service categories and payment accounts (with the daily
reconciliation's catalogue and nightly), the nightly clients snapshot, cash ledger and staff schedules; the
`client` webhook's refresh by id."""

from collections.abc import Callable
from datetime import UTC, datetime

import dagster as dg
from pydantic import Field
from sqlalchemy import Table

from ycpipeline.client import YClientsClient
from ycpipeline.defs.metadata import KINDS, OWNERS, company_check_specs, table_metadata
from ycpipeline.defs.partitions import company_partitions
from ycpipeline.defs.per_company import Outcome, materialize_companies
from ycpipeline.defs.resources import WarehouseResource, YClientsResource
from ycpipeline.defs.streams.resources import StreamsResource
from ycpipeline.sync.companies import company_timezone
from ycpipeline.sync.streams.cash_ledger import sync_cash_ledger
from ycpipeline.sync.streams.catalog import CatalogExtra, sync_catalog_extra
from ycpipeline.sync.streams.clients import refresh_clients, snapshot_clients
from ycpipeline.sync.streams.load import StreamResult
from ycpipeline.sync.streams.schedules import sync_staff_schedules
from ycpipeline.warehouse.schema import (
    clients,
    finance_transactions,
    payment_accounts,
    service_categories,
    staff_schedules,
)

GROUP = "yclients_streams"
CLIENT_CHANGES = "yclients_client_changes"
Load = Callable[[YClientsClient, int], StreamResult]


def _materialize(
    context: dg.AssetExecutionContext,
    yclients: YClientsResource,
    warehouse: WarehouseResource,
    prefix: str,
    asset: str,
    table: Table,
    load: Load,
) -> Outcome:
    """Run `load` for each company of the run, the one way every per-company asset does."""
    client = yclients.client()
    yield from materialize_companies(
        context,
        asset=asset,
        prefix=prefix,
        table=table,
        engine=warehouse.engine(),
        client=client,
        load=lambda company_id: load(client, company_id),
    )


def _catalog_extra(entity: CatalogExtra, description: str) -> dg.AssetsDefinition:
    asset = f"yclients_{entity}"
    table = service_categories if entity == "service_categories" else payment_accounts

    @dg.asset(
        name=asset,
        # Not in the catalogue group: the daily catalogue run and its webhooks read services and staff
        # only; the 30-minute tick reads neither (test_a_quiet_tick_costs_one_request_per_company).
        group_name=GROUP,
        kinds=KINDS,
        owners=OWNERS,
        partitions_def=company_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        tags={"source": "yclients", "domain": "catalog"},
        description=description,
        metadata=table_metadata(table),
        check_specs=company_check_specs(entity, asset),
    )
    def _extra(
        context: dg.AssetExecutionContext, yclients: YClientsResource, warehouse: WarehouseResource
    ) -> Outcome:
        yield from _materialize(
            context,
            yclients,
            warehouse,
            entity,
            asset,
            table,
            lambda client, c: sync_catalog_extra(
                entity, client, warehouse.engine(), c, run_id=context.run.run_id
            ),
        )

    return _extra


yclients_service_categories = _catalog_extra(
    "service_categories",
    "Service categories of each company (yclients.service_categories, GET /company/{id}/service_categories, "
    "yclientsru.apib:2667): one request per company, with the daily reconciliation and nightly; categories no longer listed get "
    "`removed_at`.",
)
yclients_payment_accounts = _catalog_extra(
    "payment_accounts",
    "Cash desks and accounts of each company (yclients.payment_accounts, GET /accounts/{id}, "
    "yclientsru.apib:9357): `kind` cash or cashless as the API's `type` says. One request per company, "
    "with the daily reconciliation and nightly.",
)


@dg.asset(
    group_name=GROUP,
    kinds=KINDS,
    owners=OWNERS,
    partitions_def=company_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    tags={"source": "yclients", "domain": "clients"},
    description="Clients of each company (yclients.clients) from the clients search (POST /company/{id}/"
    "clients/search, yclientsru.apib:4504), paged by 200: first and last visit, visits count and sold amount "
    "as the API reports them, phones in E.164. A nightly snapshot; clients no longer listed get `removed_at`.",
    metadata=table_metadata(clients),
    check_specs=company_check_specs("clients", "yclients_clients"),
)
def yclients_clients(
    context: dg.AssetExecutionContext, yclients: YClientsResource, warehouse: WarehouseResource
) -> Outcome:
    """The nightly snapshot of every client."""
    yield from _materialize(
        context,
        yclients,
        warehouse,
        "clients",
        "yclients_clients",
        clients,
        lambda client, c: snapshot_clients(client, warehouse.engine(), c, run_id=context.run.run_id),
    )


class ClientChangesConfig(dg.Config):
    """Clients to re-read now (the `client` webhooks of a batch), per company id."""

    client_ids: dict[str, list[int]] = Field(default_factory=dict, description="Per company id, client ids")


@dg.asset(
    name=CLIENT_CHANGES,
    group_name=GROUP,
    kinds=KINDS,
    owners=OWNERS,
    partitions_def=company_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    tags={"source": "yclients", "domain": "clients"},
    description="The `client` webhooks' accelerator: re-reads the clients a batch names through the clients "
    "search's id filter (one request per company and 200 clients) into yclients.clients. No request when no "
    "client is named (the schedule's ticks).",
    metadata=table_metadata(clients),
    check_specs=company_check_specs("client_changes", CLIENT_CHANGES),
)
def yclients_client_changes(
    context: dg.AssetExecutionContext,
    config: ClientChangesConfig,
    yclients: YClientsResource,
    warehouse: WarehouseResource,
) -> Outcome:
    """Refresh the named clients."""
    wanted = {int(c): ids for c, ids in config.client_ids.items() if ids}
    yield from _materialize(
        context,
        yclients,
        warehouse,
        "client_changes",
        CLIENT_CHANGES,
        clients,
        lambda client, c: refresh_clients(
            client, warehouse.engine(), c, wanted.get(c, []), run_id=context.run.run_id
        ),
    )


@dg.asset(
    group_name=GROUP,
    kinds=KINDS,
    owners=OWNERS,
    partitions_def=company_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    tags={"source": "yclients", "domain": "finance"},
    description="The cash ledger of each company (yclients.finance_transactions, GET /transactions/{id}, "
    "yclientsru.apib:12390), paged: nightly the last CASH_LEDGER_OVERLAP_DAYS days, once a week the last "
    "CASH_LEDGER_WIDE_DAYS (late edits and deletions). Transactions a read window no longer lists get "
    "`removed_at`. The payments of records ride on the records calls instead (yclients.record_payments).",
    metadata=table_metadata(finance_transactions),
    check_specs=company_check_specs("cash_ledger", "yclients_cash_ledger"),
)
def yclients_cash_ledger(
    context: dg.AssetExecutionContext,
    yclients: YClientsResource,
    warehouse: WarehouseResource,
    streams: StreamsResource,
) -> Outcome:
    """Read each company's due window of the cash ledger."""

    def load(client: YClientsClient, company_id: int) -> StreamResult:
        tz = company_timezone(client, warehouse.engine(), company_id)
        return sync_cash_ledger(
            client, warehouse.engine(), company_id, tz, streams.ledger_windows(), run_id=context.run.run_id
        )

    yield from _materialize(
        context, yclients, warehouse, "cash_ledger", "yclients_cash_ledger", finance_transactions, load
    )


@dg.asset(
    group_name=GROUP,
    kinds=KINDS,
    owners=OWNERS,
    partitions_def=company_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    tags={"source": "yclients", "domain": "staff"},
    deps=["yclients_staff"],
    description="Working intervals per staff member and day (yclients.staff_schedules) from SCHEDULES_DAYS_BACK "
    "days back to SYNC_DAYS_AHEAD ahead, with the busy intervals the API gives: one request per company "
    "(GET /company/{id}/staff/schedule), else one per staff member (GET /schedule/…, yclientsru.apib:7477). "
    "Nightly; the window is replaced.",
    metadata=table_metadata(staff_schedules),
    check_specs=company_check_specs("staff_schedules", "yclients_staff_schedules"),
)
def yclients_staff_schedules(
    context: dg.AssetExecutionContext,
    yclients: YClientsResource,
    warehouse: WarehouseResource,
    streams: StreamsResource,
) -> Outcome:
    """Replace each company's schedule window."""

    def load(client: YClientsClient, company_id: int) -> StreamResult:
        tz = company_timezone(client, warehouse.engine(), company_id)
        start, end = streams.schedule_window(datetime.now(UTC).astimezone(tz).date())
        return sync_staff_schedules(
            client, warehouse.engine(), company_id, start, end, run_id=context.run.run_id
        )

    yield from _materialize(
        context, yclients, warehouse, "staff_schedules", "yclients_staff_schedules", staff_schedules, load
    )
