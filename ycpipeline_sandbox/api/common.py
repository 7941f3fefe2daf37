"""What every resource handler needs: the company of the path, per-company answers, list answers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from ycpipeline_sandbox import envelopes

if TYPE_CHECKING:
    from ycpipeline_sandbox.app import Sandbox

API_PREFIX = "/api/v1"


def flag(query: Mapping[str, str], name: str) -> bool:
    """A 0/1 query flag (`true` also accepted)."""
    return query.get(name, "").strip().lower() in ("1", "true")


def company_answer(box: Sandbox, company_id: int) -> Response | None:
    """The configured failure of one company of the chain (`SandboxConfig.company_status`), if any."""
    status = box.config.company_status.get(company_id)
    if status is None:
        return None
    default = {
        401: envelopes.TOKEN_REJECTED,
        402: envelopes.LICENCE_EXPIRED,
        403: envelopes.LICENCE_EXPIRED,
        404: envelopes.COMPANY_NOT_FOUND,
    }.get(status.status, envelopes.SERVER_ERROR)
    message = (status.message or default).format(company_id=company_id)
    return envelopes.failure(status.status, message, envelope=status.envelope)


def resolve_company(box: Sandbox, request: Request) -> int | Response:
    """The path's company id, or the documented 404 (not an integer; unknown) or the company's failure."""
    raw = str(request.path_params.get("company_id", "")).strip()
    if not raw:
        return envelopes.failure(404, envelopes.COMPANY_MISSING)
    if not raw.isdigit():
        return envelopes.failure(404, envelopes.NOT_FOUND)  # yclientsru.apib:4695
    company_id = int(raw)
    answer = company_answer(box, company_id)
    if answer is not None:
        return answer
    if not box.state.knows(company_id):
        return envelopes.failure(404, envelopes.COMPANY_NOT_FOUND)
    return company_id


async def admitted_company(box: Sandbox, request: Request, *, needs_user: bool) -> int | Response:
    """How every company route starts: the gate's refusal (limits, tokens, Accept), else `resolve_company`."""
    if (denied := await box.gate.admit(request, needs_user=needs_user)) is not None:
        return denied
    return resolve_company(box, request)


def path_int(request: Request, name: str) -> int | None:
    """An integer path parameter, or None when absent or not an integer."""
    raw = str(request.path_params.get(name, "")).strip()
    return int(raw) if raw.isdigit() else None


def list_answer(box: Sandbox, data: Sequence[Any], meta: Mapping[str, Any] | None = None) -> Response:
    """A list, or for an empty one the `success: false` + "Не найдено" answer when configured."""
    if not data and box.config.empty_list_status is not None:
        return envelopes.failure(box.config.empty_list_status, envelopes.NOT_FOUND)
    return envelopes.success(list(data), meta)
