"""The YClients client against the sandbox over real HTTP: paging, retries, typed errors, no token leaks."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import pytest
from pydantic import SecretStr

from ycpipeline.client import (
    ApiResponseError,
    CompanyNotFoundError,
    MissingRightsError,
    RateLimiter,
    RecordFilters,
    TokenRejectedError,
    YClientsClient,
)
from ycpipeline.serving import serve_in_thread
from ycpipeline_sandbox import DEFAULT_PARTNER_TOKEN, DEFAULT_USER_TOKEN, Fault, Sandbox, sandbox_client
from ycpipeline_tests.conftest import ANCHOR
from ycpipeline_tests.support.clients import client_options

START, END = ANCHOR - timedelta(days=20), ANCHOR + timedelta(days=5)


def _all_ids(client: YClientsClient, start: date = START, end: date = END) -> list[int]:
    return [
        r["id"]
        for page in client.iter_record_pages(235564, RecordFilters.visit_window(start, end))
        for r in page.items
    ]


def test_pages_until_done_and_matches_the_sandbox(client: YClientsClient, sandbox: Sandbox) -> None:
    ids = _all_ids(client)
    expected = [r["id"] for r in sandbox.state.iter_records(235564, START, END)]
    assert len(expected) > 3 * client.page_size  # several pages, the last one partial
    assert ids == expected
    assert client.stats.pages == -(-len(expected) // client.page_size)


def test_exactly_one_page_and_empty_window(client: YClientsClient, sandbox: Sandbox) -> None:
    day = ANCHOR - timedelta(days=3)
    one_day = len(sandbox.state.day_records(235564, day))
    client.page_size = one_day
    assert len(_all_ids(client, day, day)) == one_day
    assert client.stats.pages == 1
    far = date(2031, 1, 1)
    assert _all_ids(client, far, far) == []


def test_429_bursts_and_5xx_are_retried_to_the_same_result(client: YClientsClient, sandbox: Sandbox) -> None:
    clean = _all_ids(client)
    sandbox.faults.add(
        Fault("status", status=429, times=3, path="/records/", retry_after=0),
        Fault("status", status=502, times=1, path="/records/", page=2),
        Fault("status", status=503, times=1, path="/records/", page=3),
        Fault("truncate", times=1, path="/records/", page=4),
        Fault("non_json", times=1, path="/records/", page=1),
    )
    assert _all_ids(client) == clean
    assert sandbox.faults.injected == 7
    assert client.stats.retries >= 7


def test_rate_limiter_stays_under_the_sandbox_limit(sandbox: Sandbox) -> None:
    sandbox.reconfigure(rate_per_second=5, rate_per_minute=200)
    with (
        serve_in_thread(sandbox) as base,
        sandbox_client(
            f"{base}/api/v1",
            options=client_options(page_size=20, concurrency=4),
            budget=RateLimiter(5, 200),
        ) as client,
    ):
        ids = _all_ids(client, ANCHOR - timedelta(days=14), ANCHOR)
    assert len(ids) > 6 * client.page_size  # more pages than one second's budget
    assert sandbox.stats.rate_limited == 0


@pytest.mark.parametrize(
    ("partner", "user", "company", "error", "hint"),
    [
        ("wrong-partner-token-123456", DEFAULT_USER_TOKEN, 235564, TokenRejectedError, "YCLIENTS_API_TOKEN"),
        (DEFAULT_PARTNER_TOKEN, "stale-user-token-abcdef123", 235564, TokenRejectedError, "POST /auth"),
        (DEFAULT_PARTNER_TOKEN, DEFAULT_USER_TOKEN, 999, CompanyNotFoundError, "YCLIENTS_COMPANY_ID"),
    ],
)
def test_auth_and_company_errors_give_guidance_without_tokens(
    sandbox_url: str,
    partner: str,
    user: str,
    company: int,
    error: type[Exception],
    hint: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with (
        YClientsClient(sandbox_url, SecretStr(partner), SecretStr(user), options=client_options()) as client,
        pytest.raises(error) as raised,
    ):
        client.list_services(company)
    message = str(raised.value)
    assert hint in message
    everything = message + repr(raised.value) + caplog.text + repr(client)
    for secret in (partner, user):
        assert secret not in everything


def test_403_and_success_false_on_200(client: YClientsClient, sandbox: Sandbox) -> None:
    sandbox.faults.add(Fault("status", status=403, path="/staff"))
    with pytest.raises(MissingRightsError, match="rights"):
        client.list_staff(235564)
    sandbox.faults.add(Fault("success_false", path="/staff"))
    with pytest.raises(ApiResponseError, match="Доступ к филиалу запрещен"):
        client.list_staff(235564)


def test_vanished_record_reads_as_none(client: YClientsClient) -> None:
    assert client.get_record(235564, 123) is None
