"""`POST /company/{company_id}/clients/search` (yclientsru.apib:4504-4700): the company's clients with the
fields asked for (:208-218), paged (`page`, `page_size` up to 200, :201-205), sorted (`order_by`,
`order_by_direction`) and filtered by `id` or `quick_search` (:250-264).

Consistent with the records: a client is anyone a record of the company names; `visits_count`,
`first_visit_date`, `last_visit_date` and `sold_amount` count the completed visits (attendance 1, not
deleted) and their services' cost. Dates are written `YYYY-MM-DD HH:MM:SS` (local), amounts as numbers:
the description gives no format (UNCERTAIN, see docs/marts.md).
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ycpipeline_sandbox import envelopes
from ycpipeline_sandbox.api.common import API_PREFIX, admitted_company, list_answer
from ycpipeline_sandbox.generator import money
from ycpipeline_sandbox.personal import client_with_personal_fields

if TYPE_CHECKING:
    from ycpipeline_sandbox.app import Sandbox
    from ycpipeline_sandbox.state import SandboxState

PAGE_SIZE_DEFAULT = 25  # yclientsru.apib:205
PAGE_SIZE_MAX = 200  # yclientsru.apib:203
FIELDS = (
    "id",
    "name",
    "phone",
    "email",
    "discount",
    "first_visit_date",
    "last_visit_date",
    "sold_amount",
    "visits_count",
)


class BadSearch(ValueError):
    """A search body the API refuses ("Недопустимое значение фильтра", yclientsru.apib:4660)."""


def clients_of(state: SandboxState, company_id: int) -> list[dict[str, Any]]:
    """Every client the company's records name, with what its completed visits add up to, by id."""
    first, last = state.history(company_id)
    found: dict[int, dict[str, Any]] = {}
    for record in state.iter_records(company_id, first, last):
        client = record.get("client")
        if not isinstance(client, dict) or not isinstance(client.get("id"), int):
            continue
        entry = found.setdefault(
            client["id"],
            {
                "id": client["id"],
                "name": client.get("name"),
                "phone": client.get("phone"),
                "email": client.get("email") or "",
                "discount": 0,
                "first_visit_date": None,
                "last_visit_date": None,
                "sold_amount": Decimal(0),
                "visits_count": 0,
            },
        )
        if record.get("attendance") != 1 or record.get("deleted") is True:
            continue
        when = str(record["date"])
        entry["visits_count"] += 1
        entry["sold_amount"] += sum(
            (Decimal(str(s["cost"])) for s in record.get("services") or ()), Decimal(0)
        )
        if entry["first_visit_date"] is None or when < entry["first_visit_date"]:
            entry["first_visit_date"] = when
        if entry["last_visit_date"] is None or when > entry["last_visit_date"]:
            entry["last_visit_date"] = when
    for entry in found.values():
        entry["sold_amount"] = money(float(entry["sold_amount"]))
    return [found[k] for k in sorted(found)]


def _matches(client: dict[str, Any], filters: list[Any]) -> bool:
    for item in filters:
        if not isinstance(item, dict) or not isinstance(item.get("state"), dict):
            raise BadSearch("Недопустимое значение состояния фильтра")
        kind, state = item.get("type"), item["state"]
        if kind == "id":
            wanted = state.get("value")
            if not isinstance(wanted, list) or not all(isinstance(v, int) for v in wanted):
                raise BadSearch("Недопустимое значение состояния фильтра")
            hit = client["id"] in wanted
        elif kind == "quick_search":
            text = str(state.get("value", "")).casefold()
            hit = text in str(client["name"]).casefold() or text in str(client["phone"])
        else:
            raise BadSearch(f"фильтр {kind!r} не поддерживается песочницей")
        if hit == bool(state.get("invert")):
            return False
    return True


def _sortable(value: Any) -> Any:
    # One field holds one kind of value (or none): numbers sort as numbers, the rest as text.
    return value if isinstance(value, (int, float)) else str(value or "")


def search(
    state: SandboxState, company_id: int, body: Any, cap: int = PAGE_SIZE_MAX
) -> tuple[list[dict[str, Any]], int]:
    """One page of the matching clients (only the fields asked for) and how many match; pages hold at
    most `cap` clients."""
    if not isinstance(body, dict):
        raise BadSearch("тело запроса должно быть объектом")
    page, size = body.get("page", 1), body.get("page_size", PAGE_SIZE_DEFAULT)
    fields = body.get("fields", ["id"])
    order_by, direction = body.get("order_by", "id"), str(body.get("order_by_direction", "ASC")).upper()
    filters = body.get("filters", [])
    if not (isinstance(page, int) and page >= 1 and isinstance(size, int) and size >= 1):
        raise BadSearch("page и page_size: целые числа от 1")
    if not isinstance(fields, list) or not set(fields) <= set(FIELDS) or order_by not in FIELDS:
        raise BadSearch("fields и order_by: поля клиента")
    if direction not in ("ASC", "DESC") or not isinstance(filters, list):
        raise BadSearch("order_by_direction: ASC или DESC")
    size = min(size, cap)
    found = [c for c in clients_of(state, company_id) if _matches(c, filters)]
    found.sort(key=lambda c: (c[order_by] is None, _sortable(c[order_by]), c["id"]))
    if direction == "DESC":
        found.reverse()
    chosen = found[(page - 1) * size : page * size]
    return [{k: c[k] for k in fields} for c in chosen], len(found)


def routes(box: Sandbox) -> list[Route]:
    """The clients search route (user token required)."""

    async def clients_search(request: Request) -> Response:
        company_id = await admitted_company(box, request, needs_user=True)
        if isinstance(company_id, Response):
            return company_id
        try:
            body = json.loads(await request.body() or b"{}")
            cap = box.config.page_cap("clients", PAGE_SIZE_MAX)
            data, total = await asyncio.to_thread(search, box.state, company_id, body, cap)
        except (BadSearch, ValueError) as exc:
            return envelopes.bad_filter(str(exc))
        if getattr(request.state, "empty_page", False):
            data = []  # the `empty_page` fault: no rows, the real total
        if box.config.personal_fields:
            data = [client_with_personal_fields(c) for c in data]
        if not data:
            return list_answer(box, data, {"total_count": total})
        return envelopes.success(data, {"total_count": total})

    return [Route(API_PREFIX + "/company/{company_id}/clients/search", clients_search, methods=["POST"])]
