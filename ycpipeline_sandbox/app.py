"""The sandbox YClients API as an ASGI app: assembles the resource routes, the control routes and the gate."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ycpipeline_sandbox import control, envelopes
from ycpipeline_sandbox.api import (
    accounts,
    auth,
    catalog,
    clients,
    clients_search,
    company,
    goods_transactions,
    hooks,
    records,
    schedules,
    staff_schedules,
    transactions,
)
from ycpipeline_sandbox.config import SandboxConfig
from ycpipeline_sandbox.faults import FaultPlan
from ycpipeline_sandbox.gate import Gate, SandboxStats
from ycpipeline_sandbox.ratelimit import SlidingWindowLimiter
from ycpipeline_sandbox.state import SandboxState
from ycpipeline_sandbox.webhooks import HookDelivery

# The company-wide staff schedule comes before the catalogue, whose `/company/{id}/staff/{staff_id}`
# would take `schedule` for a staff id.
RESOURCES = (
    company,
    staff_schedules,
    catalog,
    records,
    clients,
    clients_search,
    accounts,
    schedules,
    transactions,
    goods_transactions,
    hooks,
    auth,
)


class _TrailingSlashTolerant:
    """Serves `/path/` as `/path` (the API answers both; a redirect would lose clients that do not follow)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and len(path) > 1 and path.endswith("/"):
            stripped = path.rstrip("/") or "/"
            scope = {**scope, "path": stripped, "raw_path": stripped.encode()}
        await self.app(scope, receive, send)


async def _not_found(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    return envelopes.failure(status, envelopes.NOT_FOUND if status == 404 else envelopes.SERVER_ERROR)


class Sandbox:
    """Owns the state, knobs, faults and stats, and serves them as the YClients API.

    Changes of the state reach `state.listeners` (every event) and, as YClients sends them, the URLs of
    each company's hooks settings (`POST /hooks_settings/{company_id}`); `close()` stops that delivery.
    """

    def __init__(self, state: SandboxState | None = None, config: SandboxConfig | None = None) -> None:
        self.state = state or SandboxState()
        self.config = config or SandboxConfig()
        self.state.config = self.config  # one set of knobs: the change rules read them too
        self.faults = FaultPlan()
        self.stats = SandboxStats()
        self.limiter = SlidingWindowLimiter(self.config.rate_per_second, self.config.rate_per_minute)
        self.gate = Gate(self)
        self.hooks = HookDelivery(self.state)
        self.state.listeners.append(self.hooks)
        routes = [route for module in RESOURCES for route in module.routes(self)] + control.routes(self)
        app = Starlette(routes=routes, exception_handlers={HTTPException: _not_found})
        app.router.redirect_slashes = False
        self.app = _TrailingSlashTolerant(app)

    def reconfigure(self, **changes: Any) -> None:
        """Change knobs at run time (the rate limiter is rebuilt when limits change)."""
        for key, value in changes.items():
            if not hasattr(self.config, key):
                raise AttributeError(f"SandboxConfig has no knob {key!r}")
            setattr(self.config, key, value)
        if {"rate_per_second", "rate_per_minute"} & changes.keys():
            self.limiter = SlidingWindowLimiter(self.config.rate_per_second, self.config.rate_per_minute)

    def rotate_user_token(self, new_token: str) -> None:
        """Simulate the user changing the password: the old user token is rejected from now on."""
        self.config.user_token = new_token

    def close(self) -> None:
        """Deliver the webhooks still queued, then stop delivering."""
        self.hooks.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
