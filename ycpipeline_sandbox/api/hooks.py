"""`GET/POST /hooks_settings/{company_id}` (yclientsru.apib:14677): which kinds of events go to which URLs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ycpipeline_sandbox import envelopes
from ycpipeline_sandbox.api.common import API_PREFIX, admitted_company
from ycpipeline_sandbox.events import SETTINGS_FLAGS

if TYPE_CHECKING:
    from ycpipeline_sandbox.app import Sandbox


def validate_settings(body: Any) -> dict[str, Any] | str:
    """The settings a POST body sets, or why it is refused (`urls` and `active` are required)."""
    if not isinstance(body, dict):
        return "тело запроса должно быть объектом"
    urls = body.get("urls")
    if not isinstance(urls, list) or not all(
        isinstance(u, str) and u.startswith(("http://", "https://")) for u in urls
    ):
        return "urls: список адресов http(s)"
    if body.get("active") not in (0, 1, True, False):
        return "active: 0 или 1"
    changes: dict[str, Any] = {"urls": list(urls), "active": int(body["active"])}
    for key in SETTINGS_FLAGS:
        if key in body:
            if body[key] not in (0, 1, True, False):
                return f"{key}: 0 или 1"
            changes[key] = int(body[key])
    return changes


def routes(box: Sandbox) -> list[Route]:
    """The hooks-settings route (a user with rights to the company's settings)."""

    async def hooks_settings(request: Request) -> Response:
        company_id = await admitted_company(box, request, needs_user=True)
        if isinstance(company_id, Response):
            return company_id
        if request.method == "GET":
            return envelopes.success(box.state.hooks_settings(company_id))
        try:
            body = await request.json()
        except ValueError:
            body = None
        changes = validate_settings(body)
        if isinstance(changes, str):
            return envelopes.bad_filter(changes)
        return envelopes.success(box.state.set_hooks_settings(company_id, changes), status=201)

    return [Route(API_PREFIX + "/hooks_settings/{company_id}", hooks_settings, methods=["GET", "POST"])]
