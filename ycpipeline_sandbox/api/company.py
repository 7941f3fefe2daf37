"""`GET /company/{id}` (yclientsru.apib:2556)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ycpipeline_sandbox import envelopes
from ycpipeline_sandbox.api.common import API_PREFIX, admitted_company, flag

if TYPE_CHECKING:
    from ycpipeline_sandbox.app import Sandbox


def routes(box: Sandbox) -> list[Route]:
    """The company route (partner token enough, as the description's example sends)."""

    async def company(request: Request) -> Response:
        company_id = await admitted_company(box, request, needs_user=False)
        if isinstance(company_id, Response):
            return company_id
        return envelopes.success(
            box.state.company(company_id, for_booking=flag(request.query_params, "forBooking"))
        )

    return [Route(API_PREFIX + "/company/{company_id}", company)]
