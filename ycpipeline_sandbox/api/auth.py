"""`POST /auth` (yclientsru.apib:171): a login and password for the user token."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ycpipeline_sandbox import envelopes
from ycpipeline_sandbox.api.common import API_PREFIX

if TYPE_CHECKING:
    from ycpipeline_sandbox.app import Sandbox


def routes(box: Sandbox) -> list[Route]:
    """The auth route (partner token only)."""

    async def auth(request: Request) -> Response:
        if (denied := await box.gate.admit(request, needs_user=False)) is not None:
            return denied
        try:
            body = await request.json()
        except ValueError:
            body = None
        login = str(body.get("login", "")) if isinstance(body, dict) else ""
        password = str(body.get("password", "")) if isinstance(body, dict) else ""
        config = box.config
        if not (
            hmac.compare_digest(login.encode(), config.user_login.encode())
            and hmac.compare_digest(password.encode(), config.user_password.encode())
        ):
            return envelopes.failure(401, envelopes.WRONG_LOGIN)
        # 201 with the user token (yclientsru.apib:193), in the v2 envelope with the user's card.
        user = {
            "id": 1_073_232,
            "user_token": config.user_token,
            "name": "Администратор",
            "phone": login,
            "login": login,
            "email": "",
            "avatar": "",
            "is_approved": True,
            "is_email_confirmed": True,
        }
        return envelopes.success(user, status=201)

    return [Route(API_PREFIX + "/auth", auth, methods=["POST"])]
