"""The client's error surface, answer by answer: each case is a handler function standing in for the API
(httpx's MockTransport), since only the status and the body matter here. Behaviour over real HTTP is in
test_client.py and test_api_budget.py."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

import ycpipeline.client
from ycpipeline.client import (
    ApiResponseError,
    CompanyNotFoundError,
    LicenceRequiredError,
    MissingRightsError,
    NotFoundError,
    ObjectNotFoundError,
    RateLimitedError,
    RecordFilters,
    TransientApiError,
    YClientsClient,
    YClientsError,
)
from ycpipeline_tests.support.clients import client_options

PARTNER, USER = "partner-secret-token-9f8e7d", "user-secret-token-1a2b3c"
COMPANY = {"success": True, "data": {"id": 4564, "timezone_name": "Europe/Moscow"}, "meta": []}


def _error(message: str, **meta: Any) -> dict[str, Any]:
    return {"success": False, "data": None, "meta": {"message": message, **meta}}


def _client(handler: Callable[[httpx.Request], httpx.Response], **options: Any) -> YClientsClient:
    return YClientsClient(
        "https://api.example/api/v1",
        SecretStr(PARTNER),
        SecretStr(USER),
        transport=httpx.MockTransport(handler),
        options=client_options(backoff_base=0.001, rate_limit_backoff_base=0.001, **options),
    )


def _answer(routes: dict[str, tuple[int, Any]]) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/v1/")
        status, body = routes.get(path, (404, _error("Не найдено")))
        return httpx.Response(status, json=body)

    return handler


def test_public_names_are_pinned() -> None:
    assert sorted(ycpipeline.client.__all__) == [
        "ApiBudget",
        "ApiResponseError",
        "ClientOptions",
        "CompanyNotFoundError",
        "LicenceRequiredError",
        "Listing",
        "MissingRightsError",
        "NotFoundError",
        "ObjectNotFoundError",
        "Page",
        "Pager",
        "PostgresBudget",
        "RateLimitedError",
        "RateLimiter",
        "RecordFilters",
        "RecordsPage",
        "RetryPolicy",
        "TokenRejectedError",
        "TransientApiError",
        "YClientsClient",
        "YClientsError",
        "budget_key",
        "open_budget",
    ]
    for name in ycpipeline.client.__all__:
        assert getattr(ycpipeline.client, name) is not None


def test_the_tree_in_the_docstring_is_the_class_tree() -> None:
    assert issubclass(CompanyNotFoundError, NotFoundError) and issubclass(ObjectNotFoundError, NotFoundError)
    assert issubclass(RateLimitedError, TransientApiError)
    for error in (
        NotFoundError,
        LicenceRequiredError,
        MissingRightsError,
        ApiResponseError,
        TransientApiError,
    ):
        assert issubclass(error, YClientsError)
        assert error.__name__ in (ycpipeline.client.errors.__doc__ or "")


@pytest.mark.parametrize(
    ("status", "message", "error", "says", "never_says"),
    [
        (402, "Необходимо продлить лицензию в филиале с id: 4564", LicenceRequiredError, "licence", "rights"),
        (403, "Необходимо продлить лицензию в филиале с id: 4564", LicenceRequiredError, "licence", "rights"),
        (403, "Недостаточно прав", MissingRightsError, "rights", "licence"),
        (404, "Филиал не найден.", CompanyNotFoundError, "YCLIENTS_COMPANY_ID", "deleted"),
        (404, "Не указан филиал.", CompanyNotFoundError, "YCLIENTS_COMPANY_ID", "deleted"),
    ],
)
def test_company_level_answers_name_their_cause(
    status: int, message: str, error: type[YClientsError], says: str, never_says: str
) -> None:
    with (
        _client(_answer({"company/4564/staff": (status, _error(message))})) as client,
        pytest.raises(error) as raised,
    ):
        client.list_staff(4564)
    text = str(raised.value)
    assert says in text and never_says not in text and message in text
    assert raised.value.status == status


def test_a_record_404_is_the_record_not_the_company() -> None:
    routes = {
        "company/4564": (200, COMPANY),
        "record/4564/77": (404, _error("Запись не найдена")),
        "record/4564/78": (404, _error("Сотрудник с ID 9 не найден в филиале 4564")),
    }
    with _client(_answer(routes)) as client, pytest.raises(ObjectNotFoundError) as raised:
        client.get("record/4564/77", what="record 77", object_level=True)
    assert "YCLIENTS_COMPANY_ID" not in str(raised.value) and "deleted" in str(raised.value)
    with _client(_answer(routes)) as client:
        assert client.get_record(4564, 77) is None
        assert client.get_record(4564, 78) is None
        assert client.stats.requests == 3  # the company was asked once, then remembered


@pytest.mark.parametrize(
    ("company_answer", "record_answer", "error"),
    [
        ((200, COMPANY), (404, _error("Филиал не найден.")), CompanyNotFoundError),
        ((404, _error("Филиал не найден.")), (404, _error("Запись не найдена")), CompanyNotFoundError),
        ((402, _error("Необходимо продлить лицензию")), (404, _error("")), LicenceRequiredError),
        ((403, _error("Недостаточно прав")), (404, _error("Запись не найдена")), MissingRightsError),
        ((200, COMPANY), (403, _error("Недостаточно прав")), MissingRightsError),
    ],
)
def test_a_record_is_gone_only_while_its_company_answers(
    company_answer: tuple[int, Any], record_answer: tuple[int, Any], error: type[YClientsError]
) -> None:
    routes = {"company/4564": company_answer, "record/4564/77": record_answer}
    with _client(_answer(routes)) as client, pytest.raises(error):
        client.get_record(4564, 77)


@pytest.mark.parametrize("status", [200, 404])
def test_not_found_on_a_list_means_empty(status: int) -> None:
    routes = {
        "company/4564/services": (status, _error("Не найдено")),
        "company/4564/staff": (status, _error("Не найдено")),
        "records/4564": (status, _error("Не найдено")),
    }
    with _client(_answer(routes)) as client:
        assert client.list_services(4564) == []
        assert client.list_staff(4564) == []
        pages = list(client.iter_record_pages(4564, RecordFilters()))
    assert [(p.items, p.total_count) for p in pages] == [([], 0)]


def test_not_found_with_errors_or_on_one_object_is_not_empty() -> None:
    bad_filter = _error("Не найдено", errors={"filters": ["Недопустимое значение состояния фильтра"]})
    routes = {"company/4564/staff": (404, bad_filter), "company/4564": (404, _error("Не найдено"))}
    with _client(_answer(routes)) as client:
        with pytest.raises(CompanyNotFoundError):
            client.list_staff(4564)  # yclientsru.apib:4702: "Не найдено" + errors is a bad parameter
        with pytest.raises(CompanyNotFoundError):
            client.get_company(4564)  # a single object, not a list


def test_success_false_with_200_is_an_error() -> None:
    routes = {"company/4564/staff": (200, _error("Доступ к филиалу запрещен", errors=[]))}
    with _client(_answer(routes)) as client, pytest.raises(ApiResponseError, match="запрещен"):
        client.list_staff(4564)


def test_transient_errors_carry_retry_after_and_say_exhausted_only_at_the_end(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        return httpx.Response(503, headers={"Retry-After": "0"}, json=_error("Внутренняя ошибка"))

    with _client(handler, max_attempts=3) as client, pytest.raises(TransientApiError) as raised:
        client.get_company(4564)
    assert len(sent) == 3
    assert raised.value.retry_after == 0 and raised.value.status == 503
    assert "Tried 3 times" in str(raised.value) and "exhausted" in str(raised.value)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and not any("exhausted" in w for w in warnings)
    assert not any(secret in caplog.text + str(raised.value) for secret in (PARTNER, USER))


@pytest.mark.parametrize("retry_after", ["Wed, 21 Oct 2015 07:28:00 GMT", "nan", "-5", ""])
def test_an_unusable_retry_after_falls_back_to_backoff(retry_after: str) -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": retry_after}), None])

    def handler(request: httpx.Request) -> httpx.Response:
        return next(answers) or httpx.Response(200, json=COMPANY)

    with _client(handler) as client:
        assert client.get_company(4564)["id"] == 4564
        assert client.stats.rate_limited == 1 and client.stats.retries == 1


def test_no_answer_names_the_address_asked_and_no_secret() -> None:
    """A network error said "ConnectError" alone: the user could not tell which host was tried."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with _client(handler, max_attempts=2) as client, pytest.raises(TransientApiError) as raised:
        client.get_company(4564)
    message = str(raised.value)
    assert "api.example:443" in message and "ConnectError" in message and "YCLIENTS_API_URL" in message
    assert not any(secret in message for secret in (PARTNER, USER))
