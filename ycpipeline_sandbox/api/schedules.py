"""`GET /schedule/{company_id}/{staff_id}/{start_date}/{end_date}` (yclientsru.apib:7419): a staff
member's working days and slots."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ycpipeline_sandbox import envelopes
from ycpipeline_sandbox.api.common import API_PREFIX, admitted_company, path_int

if TYPE_CHECKING:
    from ycpipeline_sandbox.app import Sandbox

MAX_DAYS = 366  # the description sets no limit; a year per request keeps an answer bounded


def routes(box: Sandbox) -> list[Route]:
    """The staff schedule route (user token required)."""

    async def schedule(request: Request) -> Response:
        company_id = await admitted_company(box, request, needs_user=True)
        if isinstance(company_id, Response):
            return company_id
        staff_id = path_int(request, "staff_id")
        try:
            start = date.fromisoformat(request.path_params["start_date"])
            end = date.fromisoformat(request.path_params["end_date"])
        except ValueError:
            return envelopes.bad_filter("dates: YYYY-MM-DD")
        if (end - start).days >= MAX_DAYS:
            return envelopes.bad_filter(f"dates: at most {MAX_DAYS} days")
        days = None if staff_id is None else box.state.schedule(company_id, staff_id, start, end)
        if days is None:
            message = envelopes.STAFF_NOT_FOUND.format(staff_id=staff_id, company_id=company_id)
            return envelopes.failure(404, message)
        return envelopes.success(days)

    return [Route(API_PREFIX + "/schedule/{company_id}/{staff_id}/{start_date}/{end_date}", schedule)]
