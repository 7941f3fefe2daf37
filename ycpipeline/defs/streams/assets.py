"""Assets of the streams beside the records: service categories and payment accounts (with the daily
reconciliation's catalogue and nightly), the nightly clients snapshot, cash ledger and staff schedules; the
`client` webhook's refresh by id."""

from collections.abc import Callable
from datetime import UTC, datetime

import dagster as dg
from pydantic import Field

from ycpipeline.client import YClientsClient
from ycpipeline.defs.metadata import (
    KINDS,
    OWNERS,
    companies_ok_check,
    company_check_specs,
    company_failed,
    markdown_table,
    rejected_share_check,
    summed,
    table_metadata,
)
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
    companies: list[int],
    prefix: str,
    asset: str,
    load: Load,
) -> dg.MaterializeResult:
    """Run `load` per company; any error of one company fails its part only (the companies_ok check)."""
    client = yclients.client()
    requests_before = client.stats.requests
    results: list[StreamResult] = []
    failures: dict[int, str] = {}
    for company_id in companies:
        try:
            result = load(client, company_id)
        except Exception as exc:
            # Any error of one company's part (a rejected token, an outage, data no loader foresaw) fails
            # that part only: never the other companies, the catalogue or the ledger.
            company_failed(context.log, failures, company_id, asset, exc)
            continue
        context.log.info(f"{asset} of company {company_id}: {result.as_dict()} {result.notes}")
        results.append(result)
    totals = summed([r.as_dict() for r in results])
    return dg.MaterializeResult(
        metadata={
            **{k: dg.MetadataValue.int(v) for k, v in totals.items()},
            "api_requests": dg.MetadataValue.int(client.stats.requests - requests_before),
            "by_company": markdown_table(
                [{"company_id": r.company_id, **r.as_dict(), **r.notes} for r in results]
            ),
        },
        check_results=[
            companies_ok_check(f"{prefix}_companies_ok", asset, failures),
            rejected_share_check(
                f"{prefix}_rejected_share", asset, totals.get("rejected", 0), totals.get("fetched", 0)
            ),
        ],
    )


def _catalog_extra(entity: CatalogExtra, description: str) -> dg.AssetsDefinition:
    asset = f"yclients_{entity}"
    table = service_categories if entity == "service_categories" else payment_accounts

    @dg.asset(
        name=asset,
        # Not in the catalogue group: the 30-minute tick reads services and staff only, so a quiet tick
        # costs what it did (test_a_quiet_tick_costs_at_most_two_record_requests_per_company).
        group_name=GROUP,
        kinds=KINDS,
        owners=OWNERS,
        tags={"source": "yclients", "domain": "catalog"},
        description=description,
        metadata=table_metadata(table),
        check_specs=company_check_specs(entity, asset),
    )
    def _extra(
        context: dg.AssetExecutionContext, yclients: YClientsResource, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        return _materialize(
            context,
            yclients,
            yclients.companies(),
            entity,
            asset,
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
    tags={"source": "yclients", "domain": "clients"},
    description="Clients of each company (yclients.clients) from the clients search (POST /company/{id}/"
    "clients/search, yclientsru.apib:4504), paged by 200: first and last visit, visits count and sold amount "
    "as the API reports them, phones in E.164. A nightly snapshot; clients no longer listed get `removed_at`.",
    metadata=table_metadata(clients),
    check_specs=company_check_specs("clients", "yclients_clients"),
)
def yclients_clients(
    context: dg.AssetExecutionContext, yclients: YClientsResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """The nightly snapshot of every client."""
    return _materialize(
        context,
        yclients,
        yclients.companies(),
        "clients",
        "yclients_clients",
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
) -> dg.MaterializeResult:
    """Refresh the named clients."""
    wanted = {int(c): ids for c, ids in config.client_ids.items() if ids and int(c) in yclients.companies()}
    return _materialize(
        context,
        yclients,
        sorted(wanted),
        "client_changes",
        CLIENT_CHANGES,
        lambda client, c: refresh_clients(
            client, warehouse.engine(), c, wanted[c], run_id=context.run.run_id
        ),
    )


@dg.asset(
    group_name=GROUP,
    kinds=KINDS,
    owners=OWNERS,
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
) -> dg.MaterializeResult:
    """Read each company's due window of the cash ledger."""

    def load(client: YClientsClient, company_id: int) -> StreamResult:
        tz = company_timezone(client, warehouse.engine(), company_id)
        return sync_cash_ledger(
            client, warehouse.engine(), company_id, tz, streams.ledger_windows(), run_id=context.run.run_id
        )

    return _materialize(context, yclients, yclients.companies(), "cash_ledger", "yclients_cash_ledger", load)


@dg.asset(
    group_name=GROUP,
    kinds=KINDS,
    owners=OWNERS,
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
) -> dg.MaterializeResult:
    """Replace each company's schedule window."""

    def load(client: YClientsClient, company_id: int) -> StreamResult:
        tz = company_timezone(client, warehouse.engine(), company_id)
        start, end = streams.schedule_window(datetime.now(UTC).astimezone(tz).date())
        return sync_staff_schedules(
            client, warehouse.engine(), company_id, start, end, run_id=context.run.run_id
        )

    return _materialize(
        context, yclients, yclients.companies(), "staff_schedules", "yclients_staff_schedules", load
    )
