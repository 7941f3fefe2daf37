"""Response bodies in the documented shapes, and the messages the description quotes.

Success: `{"success": true, "data": …, "meta": …}` (yclientsru.apib:88). Errors: the v2 envelope
`{"success": false, "data": null, "meta": {"message": …}}` (e.g. yclientsru.apib:2714), or the
`{"error_code", "error_message"}` shape some endpoints use (yclientsru.apib:17827).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

import orjson
from starlette.responses import Response

COMPANY_NOT_FOUND = "Филиал не найден."  # yclientsru.apib:2738
COMPANY_MISSING = "Не указан филиал."  # yclientsru.apib:2728
NOT_FOUND = "Не найдено"  # yclientsru.apib:4702 (a company id that is not an integer), :13025
LICENCE_EXPIRED = "Необходимо продлить лицензию в филиале с id: {company_id}"  # yclientsru.apib:2718, :4681
STAFF_MISSING = "Не указан сотрудник."  # yclientsru.apib:4154
STAFF_NOT_FOUND = "Сотрудник с ID {staff_id} не найден в филиале {company_id}."  # yclientsru.apib:4163
SERVICE_MISSING = "Услуга не указана."  # yclientsru.apib:3104
SERVICE_NOT_FOUND = "Услуга не найдена."  # yclientsru.apib:3114
CATEGORY_NOT_FOUND = "Категория услуг не существует."  # yclientsru.apib:2748
BAD_FILTER = "Недопустимое значение фильтра"  # yclientsru.apib:4666
# Not quoted by the description (see docs/api-assumptions.md): our wording.
RECORD_NOT_FOUND = "Запись не найдена."
CLIENT_NOT_FOUND = "Клиент не найден."
TOKEN_REJECTED = "Доступ запрещен. Неверный токен авторизации"
WRONG_LOGIN = "Неверный логин или пароль"
BAD_ACCEPT = "Неверный заголовок Accept"
TOO_MANY_REQUESTS = "Превышен лимит запросов"
SERVER_ERROR = "Внутренняя ошибка"

# The `error_code` of each HTTP status in the newer envelope (yclientsru.apib:17827).
ERROR_CODES = {400: 5, 401: 20, 403: 15, 404: 30}


class JsonResponse(Response):
    """JSON via orjson (the /records pages are the hot path); falls back to the standard library for
    what orjson refuses (integers beyond 64 bits, lone surrogates, escaped), so hostile data is still
    served as it is."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content)
        except TypeError:
            return json.dumps(content).encode()


def success(data: Any, meta: Mapping[str, Any] | None = None, *, status: int = 200) -> JsonResponse:
    """A v2 success answer; `meta` is `[]` when there is none, as the examples send it."""
    return JsonResponse(
        {"success": True, "data": data, "meta": dict(meta) if meta else []}, status_code=status
    )


def failure(
    status: int,
    message: str,
    *,
    envelope: Literal["v2", "error_code"] = "v2",
    errors: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JsonResponse:
    """An error answer in either documented envelope."""
    if envelope == "error_code":
        body: dict[str, Any] = {"error_code": ERROR_CODES.get(status, status), "error_message": message}
    else:
        meta: dict[str, Any] = {"message": message}
        if errors:
            meta["errors"] = dict(errors)
        body = {"success": False, "data": None, "meta": meta}
    return JsonResponse(body, status_code=status, headers=dict(headers or {}))


def bad_filter(detail: str) -> JsonResponse:
    """400 for a refused parameter, in the documented shape (`meta.errors.filters`, yclientsru.apib:4662)."""
    return failure(400, BAD_FILTER, errors={"filters": [detail]})
