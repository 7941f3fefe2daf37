"""`GET /company/{id}` (yclientsru.apib:2556)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ycpipeline.sandbox import envelopes
from ycpipeline.sandbox.api.common import API_PREFIX, flag, resolve_company

if TYPE_CHECKING:
    from ycpipeline.sandbox.app import Sandbox


def routes(box: Sandbox) -> list[Route]:
    """The company route (partner token enough, as the description's example sends)."""

    async def company(request: Request) -> Response:
        if (denied := await box.gate.admit(request, needs_user=False)) is not None:
            return denied
        company_id = resolve_company(box, request)
        if isinstance(company_id, Response):
            return company_id
        return envelopes.success(
            box.state.company(company_id, for_booking=flag(request.query_params, "forBooking"))
        )

    return [Route(API_PREFIX + "/company/{company_id}", company)]
