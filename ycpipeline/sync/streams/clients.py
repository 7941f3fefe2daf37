"""Clients from the clients search (`POST /company/{id}/clients/search`, yclientsru.apib:4504): a nightly
paged snapshot (`CLIENTS`), and a refresh of the clients a webhook batch names (`CLIENT_CHANGES`, the
`client` webhook's accelerator)."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from ycpipeline.normalize.streams import client_row
from ycpipeline.sync.declaration import (
    ID,
    NUMBER,
    TEXT,
    UNLISTED,
    CompanyRead,
    Read,
    Retire,
    Spec,
    Stream,
    read_listing,
)
from ycpipeline.validation.sqltypes import BIGINT_MAX
from ycpipeline.validation.streams import ClientRow
from ycpipeline.warehouse.schema import clients

IDS_PER_SEARCH = 200  # ids per `id` filter: one page's worth (yclientsru.apib:203)


def _named(job: CompanyRead) -> Read:
    """The clients of `job.wanted`, through the search's `id` filter: one request per 200 ids, and all the
    snapshot's fields (which `GET /client/{id}` lacks). Whole only when every chunk came whole."""
    wanted = sorted({c for c in job.wanted if 0 < c <= BIGINT_MAX})
    read = Read([], asked=bool(wanted), params={"wanted": wanted})
    for start in range(0, len(wanted), IDS_PER_SEARCH):
        chunk = wanted[start : start + IDS_PER_SEARCH]
        part = read_listing(
            partial(job.client.iter_clients, job.company_id, client_ids=chunk),
            f"clients {chunk[0]}..{chunk[-1]} of company {job.company_id}",
        )
        read.items.extend(part.items)
        if not part.complete:
            read.complete, read.shortfall = False, part.shortfall
            read.notes.update(part.notes)
    return read


CLIENTS = Stream(
    Spec(
        "clients",
        clients,
        ("company_id", "client_id"),
        ClientRow,
    ),
    asset="yclients_clients",
    fields={
        "id": ID,
        "name": TEXT,
        "phone": TEXT | {"int"},
        "email": TEXT,
        "discount": NUMBER,
        "first_visit_date": TEXT,
        "last_visit_date": TEXT,
        "visits_count": NUMBER,
        "sold_amount": NUMBER,
    },
    read=lambda job: read_listing(
        lambda: job.client.iter_clients(job.company_id), f"clients of company {job.company_id}"
    ),
    row=lambda item, job: client_row(item, job.company_id, job.now),
    retire=UNLISTED,
    cadence="nightly",
    domain="clients",
    description="Clients of each company (yclients.clients) from the clients search (POST /company/{id}/"
    "clients/search, yclientsru.apib:4504), paged by 200: first and last visit, visits count and sold amount "
    "as the API reports them, phones in E.164. A nightly snapshot; clients no longer listed get `removed_at`.",
)

# The same table, model and fields; read by id, and only the clients asked for can retire.
CLIENT_CHANGES = replace(
    CLIENTS,
    checks_prefix="client_changes",
    asset="yclients_client_changes",
    read=_named,
    retire=Retire("unlisted", "t.client_id = ANY(:wanted)"),
    cadence="webhook",
    description="The `client` webhooks' accelerator: re-reads the clients a batch names through the clients "
    "search's id filter (one request per company and 200 clients) into yclients.clients. No request when no "
    "client is named (the schedule's ticks).",
)
