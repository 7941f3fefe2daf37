"""What every API request passes before its handler, in a real gateway's order: latency, the rate limit,
injected faults, the Accept header, then the tokens."""

from __future__ import annotations

import asyncio
import hmac
import json
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from ycpipeline_sandbox import envelopes
from ycpipeline_sandbox.faults import Fault, TruncatedResponse

if TYPE_CHECKING:
    from ycpipeline_sandbox.app import Sandbox

# Both media types are accepted: the description's (yclientsru.apib:92) and the one the same API
# documents under its international brand (see docs/api-assumptions.md).
ACCEPTED_MEDIA_TYPES = ("application/vnd.yclients.v2+json", "application/vnd.api.v2+json")


@dataclass
class SandboxStats:
    """What the sandbox saw: requests served and 429s it had to send."""

    requests: int = 0
    rate_limited: int = 0
    by_path: dict[str, int] = field(default_factory=dict)


def accepts_v2(header: str) -> bool:
    """Whether an Accept header names one of the v2 media types (parameters and other types ignored)."""
    return any(part.split(";")[0].strip() in ACCEPTED_MEDIA_TYPES for part in header.split(","))


def tokens(header: str) -> tuple[str, str]:
    """(partner, user) from `Bearer <partner>, User <user>`; empty strings where absent."""
    partner = user = ""
    for part in (p.strip() for p in header.split(",")):
        if part.startswith("Bearer "):
            partner = part[len("Bearer ") :].strip()
        elif part.startswith("User "):
            user = part[len("User ") :].strip()
    return partner, user


class Gate:
    """Admits a request or answers it with the gateway's refusal."""

    def __init__(self, box: Sandbox) -> None:
        self._box = box
        self._stats_lock = threading.Lock()

    def count(self, request: Request) -> None:
        """Count the request in the sandbox's stats."""
        with self._stats_lock:
            stats = self._box.stats
            stats.requests += 1
            path = request.url.path
            stats.by_path[path] = stats.by_path.get(path, 0) + 1

    async def admit(self, request: Request, *, needs_user: bool) -> Response | None:
        """None when the request may proceed, else the answer that stops it."""
        box = self._box
        self.count(request)
        if box.config.latency:
            await asyncio.sleep(box.config.latency)
        wait = box.limiter.allow()
        if wait is not None:
            with self._stats_lock:
                box.stats.rate_limited += 1
            headers = {"Retry-After": str(max(1, round(wait + 0.5)))} if box.config.send_retry_after else {}
            return envelopes.failure(429, envelopes.TOO_MANY_REQUESTS, headers=headers)
        fault = box.faults.take(request.url.path, await _page_of(request))
        if fault is not None:
            injected = await self._inject(fault, request)
            if injected is not None:
                return injected
        if not accepts_v2(request.headers.get("accept", "")):
            return envelopes.failure(400, envelopes.BAD_ACCEPT)
        partner, user = tokens(request.headers.get("authorization", ""))
        ok = hmac.compare_digest(partner.encode(), box.config.partner_token.encode())
        if needs_user:
            ok = hmac.compare_digest(user.encode(), box.config.user_token.encode()) and ok
        if not ok:
            return envelopes.failure(401, envelopes.TOKEN_REJECTED)
        return None

    async def _inject(self, fault: Fault, request: Request) -> Response | None:
        if fault.kind == "status":
            headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
            return envelopes.failure(fault.status, envelopes.SERVER_ERROR, headers=headers)
        if fault.kind == "timeout":
            await asyncio.sleep(fault.delay)
            return None
        if fault.kind == "non_json":
            return Response("<html><body>502 Bad Gateway</body></html>", media_type="text/html")
        if fault.kind == "success_false":
            return envelopes.failure(200, "Доступ к филиалу запрещен")
        if fault.kind == "truncate":
            return TruncatedResponse()
        if fault.kind == "insert_during_paging":
            state = self._box.state
            company_id = int(request.path_params["company_id"])
            text = request.query_params.get("start_date")
            day = date.fromisoformat(text) if text else state.anchor(company_id)
            start = datetime.combine(day, time(0), state.timezone(company_id)) + timedelta(hours=8)
            await asyncio.to_thread(state.add_record, company_id, start)
            return None
        if fault.kind == "reschedule_during_paging":
            if fault.record_id is None or fault.moved_to is None:
                raise ValueError("reschedule_during_paging needs record_id and moved_to")
            company_id = int(request.path_params["company_id"])
            await asyncio.to_thread(self._box.state.move_record, company_id, fault.record_id, fault.moved_to)
            return None
        if fault.kind == "empty_page":
            request.state.empty_page = True
            return None
        raise ValueError(f"unknown fault kind {fault.kind}")


async def _page_of(request: Request) -> int | None:
    """The page a request asks for: `page` of the query, or of a JSON body (the clients search)."""
    page: object = request.query_params.get("page")
    if page is None and request.method == "POST":
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return None
        page = body.get("page", 1) if isinstance(body, dict) else None
    if isinstance(page, str) and page.isdigit():
        return int(page)
    return page if isinstance(page, int) and not isinstance(page, bool) else None
