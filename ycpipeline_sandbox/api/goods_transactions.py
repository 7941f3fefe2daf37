"""`GET /storages/transactions/{company_id}` (yclientsru.apib:16054-16128): the company's goods transactions
(retail sales in visits, arrivals from suppliers), with the documented filters and paging.

`start_date`/`end_date` are local dates, inclusive, of `create_date`; `changed_after`/`changed_before` are
moments, inclusive, of `last_change_date` ("изменённых/созданных начиная с", read like the records'
ones); `document_id` matches the document's number. The answer's `meta` is `[]` as in the example: no
`total_count`, so a client pages until a short or empty page.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ycpipeline_sandbox import envelopes
from ycpipeline_sandbox.api.common import API_PREFIX, admitted_company, list_answer
from ycpipeline_sandbox.api.records import DatedQuery
from ycpipeline_sandbox.paging import BadParameter, PageRequest
from ycpipeline_sandbox.state import parse_change_time

if TYPE_CHECKING:
    from ycpipeline_sandbox.app import Sandbox

DEFAULT_COUNT = 20  # the parameter's documented default, `count:20` (yclientsru.apib:16061)


def routes(box: Sandbox) -> list[Route]:
    """The goods transactions route (user token required, as the description's headers show)."""

    def matching(company_id: int, request: Request) -> tuple[list[dict[str, Any]], PageRequest]:
        query = request.query_params
        page = PageRequest.parse(query, box.config.page_cap("goods_transactions"), DEFAULT_COUNT)
        # Without dates the whole history is listed (the real default window is undocumented).
        dated = DatedQuery.parse(box, company_id, query)
        # Documented as a string: compared as text, so a value that names no document just matches nothing.
        document = query.get("document_id", "").strip()
        found = []
        for txn in box.state.goods_transactions(company_id, dated.start, dated.end):
            if not dated.changed_within(parse_change_time(txn["last_change_date"])):
                continue
            if document and str(txn["document_id"]) != document:
                continue
            found.append(box.config.served("goods_transactions", txn))
        return found, page

    async def goods_transactions(request: Request) -> Response:
        company_id = await admitted_company(box, request, needs_user=True)
        if isinstance(company_id, Response):
            return company_id
        try:
            found, page = await asyncio.to_thread(matching, company_id, request)
        except BadParameter as exc:
            return envelopes.bad_filter(str(exc))
        if getattr(request.state, "empty_page", False):
            return list_answer(box, [])  # the `empty_page` fault
        return list_answer(box, found[page.offset : page.offset + page.count])

    return [Route(API_PREFIX + "/storages/transactions/{company_id}", goods_transactions)]
