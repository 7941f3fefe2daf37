"""`GET /client/{company_id}/{id}` (yclientsru.apib:5043): a client's card."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ycpipeline_sandbox import envelopes
from ycpipeline_sandbox.api.common import API_PREFIX, admitted_company, path_int
from ycpipeline_sandbox.personal import client_with_personal_fields

if TYPE_CHECKING:
    from ycpipeline_sandbox.app import Sandbox


def routes(box: Sandbox) -> list[Route]:
    """The client route (user token required)."""

    async def client(request: Request) -> Response:
        company_id = await admitted_company(box, request, needs_user=True)
        if isinstance(company_id, Response):
            return company_id
        client_id = path_int(request, "client_id")
        found = None if client_id is None else box.state.client(company_id, client_id)
        if found is None:
            return envelopes.failure(404, envelopes.CLIENT_NOT_FOUND)
        return envelopes.success(client_with_personal_fields(found) if box.config.personal_fields else found)

    return [Route(API_PREFIX + "/client/{company_id}/{client_id}", client)]
