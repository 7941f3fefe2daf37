"""A client written by someone else works against the sandbox over loopback: the PyPI package `yclients`
0.1.1 (generated from the current official OpenAPI description). It logs in, reads the company, services,
accounts and client cards through its typed methods; where its models are stricter than the API (each
case named below, with the source of the API's form), the same calls go through the HTTP layer its own
methods use (`BaseClient.request`). Its errors, retries and webhook parser work on the sandbox's answers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from yclients import YclientsClient, parse_webhook
from yclients.exceptions import YclientsAuthError, YclientsForbiddenError, YclientsNotFoundError
from yclients.models.schemas import RecordsCompanyidResponseDataTypesDataItem

from ycpipeline_sandbox import (
    DEFAULT_PARTNER_TOKEN,
    DEFAULT_USER_LOGIN,
    DEFAULT_USER_PASSWORD,
    CompanyStatus,
    Fault,
    Sandbox,
)
from ycpipeline_tests.conftest import ANCHOR

COMPANY = 235564
Scenario = Callable[[YclientsClient], Awaitable[Any]]


def _run(sandbox_url: str, scenario: Scenario, *, partner: str = DEFAULT_PARTNER_TOKEN) -> Any:
    """Run `scenario` with a logged-in third-party client of the sandbox on loopback."""

    async def main() -> Any:
        base = sandbox_url.removesuffix("/api/v1")  # the package's paths carry /api/v1 themselves
        async with YclientsClient(partner_token=partner, base_url=base, retry_backoff=0.01) as yc:
            if partner == DEFAULT_PARTNER_TOKEN:
                await yc.login(DEFAULT_USER_LOGIN, DEFAULT_USER_PASSWORD)
            return await scenario(yc)

    return asyncio.run(main())


async def _http(yc: YclientsClient, path: str, **params: Any) -> Any:
    """`data` of a GET through the package's own HTTP layer, without its response models."""
    return await yc._base.request("GET", "/api/v1" + path, params=params)  # the layer its methods use


def test_typed_reads(sandbox_url: str, sandbox: Sandbox) -> None:
    async def scenario(yc: YclientsClient) -> Any:
        company = await yc.companies.get(COMPANY)  # GET /company/{id}/: a trailing slash
        services = await yc.services.list(COMPANY, "")  # GET /company/{id}/services/
        accounts = await yc.accounts.list(COMPANY)
        client = await yc.clients.get(COMPANY, 88005)
        return yc.user_token, company, services, accounts, client

    token, company, services, accounts, client = _run(sandbox_url, scenario)
    assert token == sandbox.config.user_token  # from POST /auth
    assert (company.title, company.timezone_name) == ("Салон «Лаванда»", "Europe/Moscow")
    assert [int(s.id_) for s in services] == [int(s["id"]) for s in sandbox.state.services(COMPANY)]
    assert [s.price_min for s in services] == [float(s["price_min"]) for s in sandbox.state.services(COMPANY)]
    assert [a.title for a in accounts] == [a["title"] for a in sandbox.state.accounts(COMPANY)]
    assert client["id"] == 88005


def test_where_its_models_are_stricter_the_http_layer_reads_the_same(
    sandbox_url: str, sandbox: Sandbox
) -> None:
    """Its models want an object for a staff member's `position` (the description sends `[]` for none,
    yclientsru.apib:4247), an object for empty `custom_fields` (sent as `[]` in practice), a string for
    a record's `client` (an object in the description, yclientsru.apib:6016) and a list for one service
    category (an object, yclientsru.apib:2865)."""
    category = sandbox.state.service_categories(COMPANY)[0]["id"]
    record_id = next(r["id"] for r in sandbox.state.day_records(COMPANY, ANCHOR) if r["client"])

    async def scenario(yc: YclientsClient) -> Any:
        refused = []
        for call in (
            yc.staff.list(COMPANY, ""),
            yc.records.list(COMPANY, start_date=ANCHOR, end_date=ANCHOR),
            yc.records.get(COMPANY, record_id),
            yc.service_categories.get(COMPANY, category),
        ):
            with pytest.raises(ValidationError) as raised:
                await call
            refused.append(
                {tuple(str(p) for p in e["loc"] if not isinstance(p, int)) for e in raised.value.errors()}
            )
        staff = await _http(yc, f"/company/{COMPANY}/staff/")
        record = await _http(yc, f"/record/{COMPANY}/{record_id}")
        one_category = await _http(yc, f"/service_category/{COMPANY}/{category}")
        return refused, staff, record, one_category

    refused, staff, record, one_category = _run(sandbox_url, scenario)
    assert refused[0] == {("position",)}
    assert refused[1] <= {("staff", "position"), ("custom_fields",)} and refused[1]
    assert ("client",) in refused[2]
    assert refused[3] == {()}
    assert staff == sandbox.state.staff(COMPANY)
    assert record == sandbox_state_record(sandbox, record_id)
    assert one_category["id"] == category


def sandbox_state_record(sandbox: Sandbox, record_id: int) -> dict[str, Any]:
    found = sandbox.state.get_record(COMPANY, record_id)
    assert found is not None
    return {k: v for k, v in found.items() if k not in ("consumables", "finance_transactions")}


def test_paging_records_through_its_http_layer(sandbox_url: str, sandbox: Sandbox) -> None:
    start, end = ANCHOR - timedelta(days=6), ANCHOR

    async def scenario(yc: YclientsClient) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        page = 1
        while batch := await _http(
            yc, f"/records/{COMPANY}", start_date=start, end_date=end, with_deleted=True, count=25, page=page
        ):
            found += batch
            page += 1
        return found

    records = _run(sandbox_url, scenario)
    assert [r["id"] for r in records] == [r["id"] for r in sandbox.state.iter_records(COMPANY, start, end)]
    # Its list model takes every record but for the two forms named above.
    problems = set()
    for record in records:
        try:
            RecordsCompanyidResponseDataTypesDataItem.model_validate(record)
        except ValidationError as exc:
            problems |= {tuple(str(p) for p in e["loc"]) for e in exc.errors()}
    assert problems <= {("staff", "position"), ("custom_fields",)}


def test_its_errors_and_retries(sandbox_url: str, sandbox: Sandbox) -> None:
    async def unknown_company(yc: YclientsClient) -> Any:
        return await yc.companies.get(999)

    async def read_staff(yc: YclientsClient) -> Any:
        return await _http(yc, f"/company/{COMPANY}/staff")

    with pytest.raises(YclientsAuthError):
        _run(sandbox_url, unknown_company, partner="not-the-partner-token")
    with pytest.raises(YclientsNotFoundError, match="Филиал не найден"):
        _run(sandbox_url, unknown_company)
    sandbox.faults.add(Fault("status", status=429, times=2, path="/staff", retry_after=0))
    assert len(_run(sandbox_url, read_staff)) == len(sandbox.state.staff(COMPANY))  # retried past two 429s
    sandbox.reconfigure(company_status={COMPANY: CompanyStatus(403)})
    with pytest.raises(YclientsForbiddenError, match="лицензию"):
        _run(sandbox_url, read_staff)


def test_its_webhook_parser_reads_the_sandbox_events(sandbox: Sandbox) -> None:
    state = sandbox.state
    events: list[dict[str, Any]] = []
    state.listeners.append(events.append)
    good = state.goods(COMPANY)[0]["good_id"]
    state.update_client(COMPANY, 88005, name="Мария")
    state.update_good(COMPANY, good, cost=10)
    for kind in ("sale", "receipt", "consumable", "stolen", "move"):
        state.goods_operation(COMPANY, f"goods_operations_{kind}", good, 1)
    state.add_record(COMPANY, datetime.combine(ANCHOR, time(20), state.timezone(COMPANY)))
    state.update_company(COMPANY, title="Лаванда")
    parsed = [parse_webhook(e) for e in events]
    assert [(p.company_id, p.resource, p.resource_id, p.status) for p in parsed] == [
        (e["company_id"], e["resource"], e["resource_id"], e["status"]) for e in events
    ]
    kinds = {p.resource: type(p).__name__ for p in parsed}
    assert kinds["client"] == "ClientWebhook" and kinds["good"] == "GoodWebhook"
    assert {kinds[f"goods_operations_{k}"] for k in ("sale", "receipt", "consumable", "stolen", "move")} == {
        "GoodsOperationsWebhook"
    }
    assert kinds["company"] == "UnknownWebhook"  # it models no company events; it keeps them anyway
