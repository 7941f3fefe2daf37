"""A tiny YClients API that serves exactly the objects a test hands it, hostile ones included.

Bodies are written with Python's `json` (as the real client reads them with it): lone surrogates travel
as `\\udXXX` escapes, integers of any size as digits, NaN as the non-standard `NaN`. Serve it on loopback
with `ycpipeline.serving.serve_in_thread`.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

SAMPLES = Path(__file__).parents[1] / "samples"
GOOD_RECORD: dict[str, Any] = json.loads((SAMPLES / "records_page.json").read_text())["data"][0]
GOOD_SERVICE: dict[str, Any] = {
    "id": 9120034,
    "title": "Стрижка женская",
    "category_id": 1,
    "price_min": 2000,
    "price_max": 2500,
    "active": 1,
}
GOOD_STAFF: dict[str, Any] = {
    "id": 1874421,
    "name": "Анна К.",
    "specialization": "стилист",
    "fired": 0,
    "hidden": 0,
    "status": 0,
}


def record(record_id: int, **changes: Any) -> dict[str, Any]:
    """The sample record with another id and the given fields replaced."""
    return {**copy.deepcopy(GOOD_RECORD), "id": record_id, **changes}


def _body(data: Any, status: int = 200, **meta: Any) -> Response:
    envelope = {"success": status < 400, "data": data, "meta": meta or []}
    return Response(json.dumps(envelope), status, media_type="application/json")


class HostileApi:
    """Answers the endpoints the pipeline reads, for one company, with the lists it holds."""

    def __init__(
        self,
        company_id: int = 235564,
        *,
        records: list[Any] | None = None,
        services: list[Any] | None = None,
        staff: list[Any] | None = None,
    ) -> None:
        self.company_id = company_id
        self.records = records or []
        self.services = services or []
        self.staff = staff or []
        self.rereads = 0  # requests for one record by id
        # One-record answers' `data` served instead of the record, by record id (`[]`, a wrong object).
        self.answers: dict[int, Any] = {}
        self.app = Starlette(
            routes=[
                Route("/api/v1/company/{company:int}", self._company),
                Route("/api/v1/company/{company:int}/services", self._services),
                Route("/api/v1/company/{company:int}/staff", self._staff),
                Route("/api/v1/records/{company:int}", self._records),
                Route("/api/v1/record/{company:int}/{record}", self._record),
            ]
        )

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)

    def _known(self, request: Request) -> bool:
        return request.path_params["company"] == self.company_id

    async def _company(self, request: Request) -> Response:
        if not self._known(request):
            return _body(None, 404, message="Филиал не найден.")
        return _body({"id": self.company_id, "title": "Салон", "timezone_name": "Europe/Moscow"})

    async def _services(self, request: Request) -> Response:
        return _body(self.services, total_count=len(self.services))

    async def _staff(self, request: Request) -> Response:
        return _body(self.staff, total_count=len(self.staff))

    def _in_window(self, obj: Any, request: Request) -> bool:
        # Like the API, the window filters on the record's own local `date` (yclientsru.apib:5446-5447).
        start, end = request.query_params.get("start_date"), request.query_params.get("end_date")
        day = obj.get("date") if isinstance(obj, dict) else None
        if not (start and end and isinstance(day, str) and re.match(r"\d{4}-\d{2}-\d{2}", day)):
            return True  # how the API filters a record without a readable date is unknown: list it
        return start <= day[:10] <= end

    async def _records(self, request: Request) -> Response:
        page = int(request.query_params.get("page", 1))
        count = int(request.query_params.get("count", 50))
        listed = [obj for obj in self.records if self._in_window(obj, request)]
        chunk = listed[(page - 1) * count : page * count]
        return _body(chunk, page=page, total_count=len(listed))

    async def _record(self, request: Request) -> Response:
        self.rereads += 1
        wanted = request.path_params["record"]
        if wanted.isdigit() and int(wanted) in self.answers:
            return _body(self.answers[int(wanted)])
        for obj in self.records:
            if isinstance(obj, dict) and str(obj.get("id")) == wanted:
                return _body(obj)
        return _body(None, 404, message="Запись не найдена")
