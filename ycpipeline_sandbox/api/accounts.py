"""`GET /accounts/{company_id}` (yclientsru.apib:9357): the company's cash desks and accounts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ycpipeline_sandbox.api.common import API_PREFIX, admitted_company, list_answer

if TYPE_CHECKING:
    from ycpipeline_sandbox.app import Sandbox


def routes(box: Sandbox) -> list[Route]:
    """The accounts route (user token required)."""

    async def accounts(request: Request) -> Response:
        company_id = await admitted_company(box, request, needs_user=True)
        if isinstance(company_id, Response):
            return company_id
        return list_answer(box, box.state.accounts(company_id))

    return [Route(API_PREFIX + "/accounts/{company_id}", accounts)]
