"""`GET /transactions/{company_id}` (yclientsru.apib:12390): the payments of the company's visits, with
the documented filters (dates, cash desk, client, change times, paging)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ycpipeline_sandbox import envelopes
from ycpipeline_sandbox import generator as gen
from ycpipeline_sandbox.api.common import API_PREFIX, admitted_company, list_answer
from ycpipeline_sandbox.api.records import DatedQuery
from ycpipeline_sandbox.paging import BadParameter, PageRequest
from ycpipeline_sandbox.state import parse_change_time

if TYPE_CHECKING:
    from ycpipeline_sandbox.app import Sandbox


def listed(record: dict[str, Any], txn: dict[str, Any]) -> dict[str, Any]:
    """A record's finance transaction in the list's shape: ids and amounts as strings, dates with an
    offset (yclientsru.apib:12442)."""
    zone = parse_change_time(record["last_change_date"]).tzinfo
    when = gen.fmt_offset(datetime.fromisoformat(str(txn["date"])).replace(tzinfo=zone), colon=False)
    client = txn.get("client")
    return {
        "id": str(txn["id"]),
        "document_id": txn["document_id"],
        "expense": {"id": str(txn["expense"]["id"]), "title": txn["expense"]["title"]},
        "date": when,
        "amount": f"{float(txn['amount']):.2f}",
        "comment": txn["comment"],
        "master": [],
        "supplier": [],
        "account": {"id": str(txn["account"]["id"]), "title": txn["account"]["title"]},
        "client": {"id": str(client["id"]), "name": client["name"], "phone": client["phone"]}
        if client
        else [],
        "last_change_date": when,
    }


def routes(box: Sandbox) -> list[Route]:
    """The finance transactions route (user token required)."""

    def matching(company_id: int, request: Request) -> tuple[list[dict[str, Any]], PageRequest]:
        query = request.query_params
        dated = DatedQuery.parse(box, company_id, query)
        wanted = {k: query[k] for k in ("account_id", "client_id") if query.get(k)}
        if any(not v.isdigit() for v in wanted.values()):
            raise BadParameter("account_id and client_id are integers")
        found = []
        for record, txn in box.state.payments(company_id, dated.start, dated.end):
            item = listed(record, txn)
            if not dated.changed_within(parse_change_time(item["last_change_date"])):
                continue
            if "account_id" in wanted and item["account"]["id"] != wanted["account_id"]:
                continue
            if "client_id" in wanted and (not item["client"] or item["client"]["id"] != wanted["client_id"]):
                continue
            found.append(box.config.served("transactions", item))
        return found, PageRequest.parse(query, box.config.page_cap("transactions"))

    async def transactions(request: Request) -> Response:
        company_id = await admitted_company(box, request, needs_user=True)
        if isinstance(company_id, Response):
            return company_id
        try:
            found, page = await asyncio.to_thread(matching, company_id, request)
        except BadParameter as exc:
            return envelopes.bad_filter(str(exc))
        return list_answer(box, found[page.offset : page.offset + page.count])

    return [Route(API_PREFIX + "/transactions/{company_id}", transactions)]
