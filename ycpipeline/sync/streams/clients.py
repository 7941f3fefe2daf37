"""Clients from the clients search (`POST /company/{id}/clients/search`, yclientsru.apib:4504): a nightly
paged snapshot, and a refresh of a few clients by id (the `client` webhook's accelerator)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy import Engine

from ycpipeline.client import YClientsClient
from ycpipeline.normalize.streams import client_row
from ycpipeline.sync.streams.load import (
    Spec,
    StreamResult,
    finish,
    merge_staged,
    read_listing,
    retire_unlisted,
    stage_rows,
)
from ycpipeline.validation.sqltypes import BIGINT_MAX
from ycpipeline.validation.streams import ClientRow
from ycpipeline.warehouse.schema import clients

SPEC = Spec(
    "clients",
    clients,
    ("company_id", "client_id"),
    ClientRow,
    ("client_id", "first_visit_date", "last_visit_date"),
)
IDS_PER_SEARCH = 200  # ids per `id` filter: one page's worth (yclientsru.apib:203)


def snapshot_clients(
    client: YClientsClient, engine: Engine, company_id: int, *, run_id: str | None = None
) -> StreamResult:
    """Every client of the company; clients the search no longer lists get `removed_at`."""
    listed = read_listing(lambda: client.iter_clients(company_id), f"clients of company {company_id}")
    synced_at = datetime.now(UTC)
    rows = [client_row(item, company_id, synced_at) for item in listed.items]
    result = StreamResult("clients", company_id, fetched=len(rows), notes=listed.notes())
    with engine.begin() as conn:
        staged = stage_rows(conn, SPEC, rows)
        result.counts = merge_staged(conn, SPEC, staged)
        if listed.complete:
            result.retired = retire_unlisted(conn, SPEC, staged, company_id)
        return finish(conn, result, staged, run_id)


def refresh_clients(
    client: YClientsClient,
    engine: Engine,
    company_id: int,
    client_ids: Sequence[int],
    *,
    run_id: str | None = None,
) -> StreamResult:
    """Re-read the given clients through the search's `id` filter (one request per 200 ids, and all the
    snapshot's fields, which `GET /client/{id}` lacks); a client it no longer finds gets `removed_at`."""
    wanted = sorted({c for c in client_ids if 0 < c <= BIGINT_MAX})
    result = StreamResult("clients", company_id)
    if not wanted:
        return result
    synced_at = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    complete = True
    for start in range(0, len(wanted), IDS_PER_SEARCH):
        chunk = wanted[start : start + IDS_PER_SEARCH]
        listed = read_listing(
            partial(client.iter_clients, company_id, client_ids=chunk),
            f"clients {chunk[0]}..{chunk[-1]} of company {company_id}",
        )
        rows.extend(client_row(item, company_id, synced_at) for item in listed.items)
        if not listed.complete:
            complete = False
            result.notes.update(listed.notes())
    result.fetched = len(rows)
    with engine.begin() as conn:
        staged = stage_rows(conn, SPEC, rows)
        result.counts = merge_staged(conn, SPEC, staged)
        if complete:
            result.retired = retire_unlisted(
                conn, SPEC, staged, company_id, scope="t.client_id = ANY(:wanted)", wanted=wanted
            )
        return finish(conn, result, staged, run_id)
