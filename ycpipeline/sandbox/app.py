"""The sandbox YClients API as an ASGI app (Starlette): same paths, headers, envelopes and limits."""

from __future__ import annotations

import asyncio
import hmac
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, Literal

from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ycpipeline.client.http import ACCEPT_V2, YClientsClient
from ycpipeline.sandbox.faults import Fault, FaultPlan
from ycpipeline.sandbox.state import SandboxState

API_PREFIX = "/api/v1"
DEFAULT_PARTNER_TOKEN = "sandbox-partner-token-0123456789abcdef"
DEFAULT_USER_TOKEN = "sandbox-user-token-fedcba9876543210"


def sandbox_client(api_url: str, **options: Any) -> YClientsClient:
    """A YClients client holding the sandbox's default tokens (`options` as for `YClientsClient`)."""
    return YClientsClient(api_url, SecretStr(DEFAULT_PARTNER_TOKEN), SecretStr(DEFAULT_USER_TOKEN), **options)


@dataclass
class SandboxConfig:
    """Knobs of the sandbox server."""

    partner_token: str = DEFAULT_PARTNER_TOKEN
    user_token: str = DEFAULT_USER_TOKEN
    page_size_cap: int = 300
    rate_per_second: int | None = 5
    rate_per_minute: int | None = 200
    send_retry_after: bool = True
    latency: float = 0.0
    # Undocumented in the API: how an offset-less `changed_after`/`changed_before` is read, and whether
    # deleting a record bumps its `last_change_date`. Tests cover both answers.
    changed_after_reading: Literal["local", "utc"] = "local"
    delete_bumps_change_time: bool = True


@dataclass
class SandboxStats:
    """What the sandbox saw: requests served and 429s it had to send."""

    requests: int = 0
    rate_limited: int = 0
    by_path: dict[str, int] = field(default_factory=dict)


class _Limiter:
    def __init__(self, per_second: int | None, per_minute: int | None) -> None:
        self.windows: list[tuple[int, float, deque[float]]] = [
            (n, p, deque()) for n, p in ((per_second, 1.0), (per_minute, 60.0)) if n
        ]
        self.lock = threading.Lock()

    def allow(self) -> float | None:
        """None when the request fits, else the seconds until it would."""
        with self.lock:
            now = time.monotonic()
            waits = []
            for limit, period, sent in self.windows:
                while sent and now - sent[0] >= period:
                    sent.popleft()
                if len(sent) >= limit:
                    waits.append(sent[0] + period - now)
            if waits:
                return max(waits)
            for _, _, sent in self.windows:
                sent.append(now)
            return None


def envelope(data: Any, meta: Any = None) -> dict[str, Any]:
    """A v2 success body."""
    return {"success": True, "data": data, "meta": [] if meta is None else meta}


def error_body(message: str) -> dict[str, Any]:
    """A v2 error body."""
    return {"success": False, "data": None, "meta": {"message": message}}


class Sandbox:
    """Owns the state, knobs, faults and stats, and builds the ASGI app that serves them."""

    def __init__(self, state: SandboxState | None = None, config: SandboxConfig | None = None) -> None:
        self.state = state or SandboxState()
        self.config = config or SandboxConfig()
        self.faults = FaultPlan()
        self.stats = SandboxStats()
        self._limiter = _Limiter(self.config.rate_per_second, self.config.rate_per_minute)
        self._stats_lock = threading.Lock()
        self.state.delete_bumps_change_time = self.config.delete_bumps_change_time
        self.app = Starlette(routes=self._routes())

    def reconfigure(self, **changes: Any) -> None:
        """Change knobs at run time (the rate limiter is rebuilt when limits change)."""
        for key, value in changes.items():
            setattr(self.config, key, value)
        self._limiter = _Limiter(self.config.rate_per_second, self.config.rate_per_minute)
        self.state.delete_bumps_change_time = self.config.delete_bumps_change_time

    def rotate_user_token(self, new_token: str) -> None:
        """Simulate the user changing the password: the old user token is rejected from now on."""
        self.config.user_token = new_token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    # -- request plumbing ---------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        p = API_PREFIX
        return [
            Route(p + "/company/{company_id:int}", self._company),
            Route(p + "/company/{company_id:int}/services", self._services),
            Route(p + "/services/{company_id:int}", self._services),
            Route(p + "/company/{company_id:int}/staff", self._staff),
            Route(p + "/staff/{company_id:int}", self._staff),
            Route(p + "/records/{company_id:int}", self._records),
            Route(p + "/record/{company_id:int}/{record_id:int}", self._record),
            Route("/_sandbox/stats", self._stats_view),
            Route("/_sandbox/mutations", self._mutation_view, methods=["POST"]),
            Route("/_sandbox/faults", self._faults_view, methods=["POST", "DELETE"]),
        ]

    def _authorised(self, request: Request, *, needs_user: bool) -> Response | None:
        if request.headers.get("accept") != ACCEPT_V2:
            return JSONResponse(error_body("Неверный заголовок Accept"), status_code=400)
        header = request.headers.get("authorization", "")
        parts = [p.strip() for p in header.split(",")]
        partner = parts[0][len("Bearer ") :] if parts and parts[0].startswith("Bearer ") else ""
        user = next((p[len("User ") :] for p in parts[1:] if p.startswith("User ")), "")
        ok = hmac.compare_digest(partner, self.config.partner_token)
        if needs_user:
            ok = ok and hmac.compare_digest(user, self.config.user_token)
        if not ok:
            return JSONResponse(error_body("Доступ запрещен. Неверный токен авторизации"), status_code=401)
        return None

    async def _gate(self, request: Request, *, needs_user: bool) -> Response | None:
        """Latency, rate limit, faults and auth, in the order a real gateway would apply them."""
        with self._stats_lock:
            self.stats.requests += 1
            path = request.url.path
            self.stats.by_path[path] = self.stats.by_path.get(path, 0) + 1
        if self.config.latency:
            await asyncio.sleep(self.config.latency)
        wait = self._limiter.allow()
        if wait is not None:
            with self._stats_lock:
                self.stats.rate_limited += 1
            headers = {"Retry-After": str(max(1, round(wait + 0.5)))} if self.config.send_retry_after else {}
            return JSONResponse(error_body("Превышен лимит запросов"), status_code=429, headers=headers)
        page = request.query_params.get("page")
        fault = self.faults.take(request.url.path, int(page) if page and page.isdigit() else None)
        if fault is not None:
            injected = await self._apply_fault(fault, request)
            if injected is not None:
                return injected
        return self._authorised(request, needs_user=needs_user)

    async def _apply_fault(self, fault: Fault, request: Request) -> Response | None:
        if fault.kind == "status":
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            return JSONResponse(error_body("Внутренняя ошибка"), status_code=fault.status, headers=headers)
        if fault.kind == "timeout":
            await asyncio.sleep(fault.delay)
            return None
        if fault.kind == "non_json":
            return Response("<html><body>502 Bad Gateway</body></html>", media_type="text/html")
        if fault.kind == "success_false":
            return JSONResponse(error_body("Доступ к филиалу запрещен"), status_code=200)
        if fault.kind == "truncate":
            return _TruncatedResponse()
        if fault.kind == "insert_during_paging":
            company_id = int(request.path_params["company_id"])
            start = date.fromisoformat(request.query_params["start_date"])
            tz = self.state.timezone(company_id)
            self.state.add_record(
                company_id, datetime.combine(start, datetime.min.time(), tz) + timedelta(hours=8)
            )
            return None
        if fault.kind == "empty_page":
            request.state.empty_page = True
            return None
        raise ValueError(f"unknown fault kind {fault.kind}")

    # -- API endpoints --------------------------------------------------------------------------------

    async def _company(self, request: Request) -> Response:
        if (denied := await self._gate(request, needs_user=False)) is not None:
            return denied
        company = self.state.company(request.path_params["company_id"])
        if company is None:
            return JSONResponse(error_body("Филиал не найден."), status_code=404)
        return JSONResponse(envelope(company))

    async def _catalogue(self, request: Request, items: str) -> Response:
        if (denied := await self._gate(request, needs_user=True)) is not None:
            return denied
        company_id = request.path_params["company_id"]
        if self.state.company(company_id) is None:
            return JSONResponse(error_body("Филиал не найден."), status_code=404)
        data = self.state.services(company_id) if items == "services" else self.state.staff(company_id)
        return JSONResponse(envelope(data, {"total_count": len(data)}))

    async def _services(self, request: Request) -> Response:
        return await self._catalogue(request, "services")

    async def _staff(self, request: Request) -> Response:
        return await self._catalogue(request, "staff")

    async def _records(self, request: Request) -> Response:
        if (denied := await self._gate(request, needs_user=True)) is not None:
            return denied
        company_id = request.path_params["company_id"]
        if self.state.company(company_id) is None:
            return JSONResponse(error_body("Филиал не найден."), status_code=404)
        q = request.query_params
        try:
            page = max(1, int(q.get("page", "1")))
            count = min(max(1, int(q.get("count", "50"))), self.config.page_size_cap)
            anchor = self.state.anchor(company_id)
            start = date.fromisoformat(q["start_date"]) if "start_date" in q else anchor - timedelta(days=365)
            end = date.fromisoformat(q["end_date"]) if "end_date" in q else anchor + timedelta(days=365)
            zone = self.state.timezone(company_id)
            changed = (
                _change_bound(q.get("changed_after"), zone, self.config.changed_after_reading),
                _change_bound(q.get("changed_before"), zone, self.config.changed_after_reading),
            )
        except ValueError:
            return JSONResponse(error_body("Неверный формат параметров"), status_code=400)
        with_deleted = q.get("with_deleted") in ("1", "true")
        data, total = await asyncio.to_thread(
            self._records_page, company_id, start, end, page, count, with_deleted, changed
        )
        if getattr(request.state, "empty_page", False):
            data = []
        return JSONResponse(envelope(data, {"page": page, "total_count": total}))

    def _records_page(
        self,
        company_id: int,
        start: date,
        end: date,
        page: int,
        count: int,
        with_deleted: bool,
        changed: tuple[datetime | None, datetime | None],
    ) -> tuple[list[dict[str, Any]], int]:
        offset = (page - 1) * count
        after, before = changed
        if with_deleted and after is None and before is None:
            # Count days cheaply and build only the days that hold the requested page.
            data: list[dict[str, Any]] = []
            total, day = 0, start
            while day <= end:
                n = self.state.day_count(company_id, day)
                if total + n > offset and len(data) < count:
                    recs = self.state.day_records(company_id, day)
                    skip = max(0, offset - total)
                    data.extend(recs[skip : skip + count - len(data)])
                total += n
                day += timedelta(days=1)
            return data, total
        matches = [
            r
            for r in self.state.iter_records(company_id, start, end)
            if (with_deleted or not r["deleted"])
            and (after is None or _changed_at(r) >= after)
            and (before is None or _changed_at(r) <= before)
        ]
        return matches[offset : offset + count], len(matches)

    async def _record(self, request: Request) -> Response:
        if (denied := await self._gate(request, needs_user=True)) is not None:
            return denied
        company_id = request.path_params["company_id"]
        if self.state.company(company_id) is None:
            return JSONResponse(error_body("Филиал не найден."), status_code=404)
        record = self.state.get_record(company_id, request.path_params["record_id"])
        if record is None:
            return JSONResponse(error_body("Запись не найдена"), status_code=404)
        return JSONResponse(envelope(record))

    # -- control endpoints for a sandbox running as a server ---------------------------------------------

    async def _stats_view(self, request: Request) -> Response:
        return JSONResponse({**asdict(self.stats), "faults_injected": self.faults.injected})

    async def _mutation_view(self, request: Request) -> Response:
        body = await request.json()
        op, cid = body["op"], int(body["company_id"])
        if op == "set_attendance":
            result = self.state.set_attendance(cid, int(body["record_id"]), int(body["attendance"]))
        elif op == "set_service_cost":
            result = self.state.set_service_cost(
                cid, int(body["record_id"]), body["cost"], int(body.get("line", 0))
            )
        elif op == "delete_record":
            result = self.state.delete_record(cid, int(body["record_id"]))
        elif op == "move_record":
            result = self.state.move_record(
                cid, int(body["record_id"]), datetime.fromisoformat(body["start"])
            )
        elif op == "add_record":
            result = self.state.add_record(cid, datetime.fromisoformat(body["start"]))
        else:
            return JSONResponse({"error": f"unknown op {op}"}, status_code=400)
        return JSONResponse(result)

    async def _faults_view(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.faults.clear()
        else:
            body = await request.json()
            self.faults.add(*(Fault(**f) for f in (body if isinstance(body, list) else [body])))
        return JSONResponse({"ok": True})


class _TruncatedResponse(Response):
    """Declares a body longer than it sends, so the client sees the connection break mid-body."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"success": true, "data": [', "more_body": False})


def _changed_at(record: dict[str, Any]) -> datetime:
    return datetime.strptime(record["last_change_date"], "%Y-%m-%dT%H:%M:%S%z")


def _change_bound(value: str | None, zone: tzinfo, reading: Literal["local", "utc"]) -> datetime | None:
    """`changed_after`/`changed_before` as an instant: an offset is honoured, else the configured reading."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone if reading == "local" else UTC)
    return parsed
