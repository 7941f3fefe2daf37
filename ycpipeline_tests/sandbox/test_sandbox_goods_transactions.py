"""Goods transactions (`GET /storages/transactions/{company_id}`, yclientsru.apib:16054-16128) over loopback
HTTP: the documented envelope and fields, paging to a short page (no `total_count`), the create-date and
change-time filters, the sales' link to the visits, the control hooks, and the errors every company
endpoint gives."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest

from ycpipeline_sandbox import DEFAULT_PARTNER_TOKEN, DEFAULT_USER_TOKEN, CompanyStatus, Sandbox
from ycpipeline_tests.conftest import ANCHOR
from ycpipeline_tests.support.official_samples import shape_problems

COMPANY = 235564  # Europe/Moscow: +0300 all year
MOSCOW = timezone(timedelta(hours=3))
PATH = f"/storages/transactions/{COMPANY}"
# The list example (yclientsru.apib:16081-16128; its keys are unquoted there, so it is quoted here).
EXAMPLE = {
    "success": True,
    "data": [
        {
            "id": 123456789,
            "document_id": 22256643,
            "type_id": "987654321",
            "type": "Нечто",
            "good": {"id": "111222333", "title": "Something"},
            "storage": {"id": "333222111", "title": "Storage 1"},
            "unit": {"id": "333222111", "title": "миллилитр"},
            "operation_unit_type": 1,
            "create_date": "2012-12-21T19:08:00+0400",
            "last_change_date": "2020-02-01T12:00:00+0400",
            "cost_per_unit": "1.07",
            "cost": "0.00",
            "discount": "10.00",
            "master": {"id": "112233445", "title": "Василий Иванов"},
            "supplier": {"id": "11112222", "title": "Best Supplier Ever"},
            "record_id": 1,
            "service": {"id": "1234321", "title": "Услуга 4"},
            "clients": {"id": "4321234", "name": "Джордж Смит", "phone": "+79876543210"},
        }
    ],
    "meta": [],
}
# The quantity: absent from the example, documented in the POST body (yclientsru.apib:16142).
EXTRAS = {"data[].amount": "yclientsru.apib:16142"}
MONEY = re.compile(r"^\d+\.\d{2}$")
MOSCOW_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+0300$")
NESTED = ("good", "storage", "unit", "master", "supplier", "service", "clients")


def _everything(http: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    """Every matching transaction in one page (the fixture's history holds well under the 300 cap)."""
    data: list[dict[str, Any]] = http.get(PATH, params={**params, "count": 300}).json()["data"]
    assert len(data) < 300
    return data


def _local(moment: datetime) -> str:
    """`2000-01-01T00:00:00`: the documented, offset-less form (read in the company's zone)."""
    return moment.astimezone(MOSCOW).strftime("%Y-%m-%dT%H:%M:%S")


def _changed(txn: dict[str, Any]) -> datetime:
    return datetime.strptime(txn["last_change_date"], "%Y-%m-%dT%H:%M:%S%z")


@pytest.fixture
def control(sandbox_url: str) -> Iterator[httpx.Client]:
    """The sandbox's control endpoints (`/_sandbox/*`)."""
    with httpx.Client(base_url=sandbox_url.removesuffix("/api/v1") + "/_sandbox", timeout=10) as http:
        yield http


def test_first_page_has_the_documented_envelope_and_fields(sandbox_http: httpx.Client) -> None:
    answer = sandbox_http.get(PATH)
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"success", "data", "meta"} and body["success"] is True and body["meta"] == []
    assert len(body["data"]) == 20  # the documented default `count`
    assert shape_problems(body, [EXAMPLE], allowed_extra=EXTRAS) == []
    every = _everything(sandbox_http)
    assert every[:20] == body["data"]
    for txn in every:
        assert set(txn) == set(EXAMPLE["data"][0]) | {"amount"}
        assert isinstance(txn["id"], int) and isinstance(txn["document_id"], int)
        assert isinstance(txn["type_id"], str) and isinstance(txn["record_id"], int)
        assert all(MONEY.match(txn[k]) for k in ("cost_per_unit", "cost", "discount"))
        assert MOSCOW_TIME.match(txn["create_date"]) and MOSCOW_TIME.match(txn["last_change_date"])
        assert txn["last_change_date"] >= txn["create_date"]
        for key in NESTED:  # an object with a numeric-string id, or `[]` for none
            assert txn[key] == [] or (isinstance(txn[key]["id"], str) and txn[key]["id"].isdigit())
        # UNCERTAIN sign (the list example shows no amount): out of stock for a sale, into it for an arrival.
        assert (txn["amount"] < 0) if txn["type_id"] == "1" else (txn["amount"] > 0)
        gross = Decimal(txn["cost_per_unit"]) * abs(txn["amount"])
        assert Decimal(txn["cost"]) == (gross * (100 - Decimal(txn["discount"])) / 100).quantize(
            Decimal("0.01")
        )
    assert {t["type"] for t in every} == {"Продажа товара", "Приход товара"}
    assert len({t["id"] for t in every}) == len(every)


def test_sales_are_goods_sold_in_completed_visits(sandbox_http: httpx.Client) -> None:
    week = {"start_date": str(ANCHOR - timedelta(days=7)), "end_date": str(ANCHOR - timedelta(days=1))}
    listed = _everything(sandbox_http, **week)
    sales = [t for t in listed if t["type_id"] == "1"]
    arrivals = [t for t in listed if t["type_id"] == "3"]
    assert sales and len(sales) < 7 * 12  # a few a day, at 12 visits a day
    for sale in sales:
        record = sandbox_http.get(f"/record/{COMPANY}/{sale['record_id']}").json()["data"]
        assert record["attendance"] == 1 and record["deleted"] is False
        assert sale["master"] == {"id": str(record["staff_id"]), "title": record["staff"]["name"]}
        assert int(sale["service"]["id"]) in {s["id"] for s in record["services"]}
        assert sale["document_id"] == record["documents"][0]["id"]  # the visit's document
        client = record["client"]
        assert sale["clients"] == (
            {"id": str(client["id"]), "name": client["name"], "phone": client["phone"]} if client else []
        )
        assert sale["create_date"][:10] == record["date"][:10] and sale["supplier"] == []
    for arrival in arrivals:
        assert arrival["record_id"] == 0 and arrival["supplier"]["title"]
        assert arrival["master"] == arrival["service"] == arrival["clients"] == []
    # The visit's document names its goods: `document_id` finds them and nothing else.
    document = sales[0]["document_id"]
    by_document = sandbox_http.get(PATH, params={"document_id": document}).json()["data"]
    assert by_document == [t for t in _everything(sandbox_http) if t["document_id"] == document]


def test_paging_by_count_returns_each_transaction_once(sandbox_http: httpx.Client, sandbox: Sandbox) -> None:
    first, last = sandbox.state.history(COMPANY)
    expected = [t["id"] for t in sandbox.state.goods_transactions(COMPANY, first, last)]
    assert [t["id"] for t in _everything(sandbox_http)] == expected
    seen: list[int] = []
    page = 1
    while True:
        data = sandbox_http.get(PATH, params={"page": page, "count": 7}).json()["data"]
        assert len(data) <= 7
        seen += [t["id"] for t in data]
        if len(data) < 7:
            break
        page += 1
    assert seen == expected and len(set(seen)) == len(seen) > 100
    after_the_end = sandbox_http.get(PATH, params={"page": page + 1, "count": 7})
    assert after_the_end.status_code == 200 and after_the_end.json() == {
        "success": True,
        "data": [],
        "meta": [],
    }


def test_page_size_is_capped_as_the_other_listings(sandbox_http: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.reconfigure(page_size_cap=10)
    assert len(sandbox_http.get(PATH, params={"count": 1000}).json()["data"]) == 10
    assert len(sandbox_http.get(f"/transactions/{COMPANY}", params={"count": 1000}).json()["data"]) == 10
    sandbox.reconfigure(listing_page_caps={"goods_transactions": 4})
    assert len(sandbox_http.get(PATH, params={"count": 1000}).json()["data"]) == 4
    assert len(sandbox_http.get(f"/transactions/{COMPANY}", params={"count": 1000}).json()["data"]) == 10


def test_dates_filter_on_the_creation_day_inclusive(sandbox_http: httpx.Client) -> None:
    every = _everything(sandbox_http)
    by_day: dict[str, list[int]] = {}
    for txn in every:
        by_day.setdefault(txn["create_date"][:10], []).append(txn["id"])
    day = next(d for d in sorted(by_day, reverse=True) if len(by_day[d]) >= 2)
    one_day = _everything(sandbox_http, start_date=day, end_date=day)
    assert [t["id"] for t in one_day] == by_day[day]
    first = date.fromisoformat(day) - timedelta(days=2)
    window = _everything(sandbox_http, start_date=str(first), end_date=day)
    wanted = [t["id"] for t in every if str(first) <= t["create_date"][:10] <= day]
    assert [t["id"] for t in window] == wanted and len(wanted) > len(by_day[day])
    assert _everything(sandbox_http, start_date=str(ANCHOR), end_date=str(ANCHOR + timedelta(days=5))) == []


def test_changed_after_lists_only_what_changed_since_and_an_edit(
    sandbox_http: httpx.Client, sandbox: Sandbox, control: httpx.Client
) -> None:
    every = _everything(sandbox_http)
    moments = sorted({_changed(t) for t in every})
    threshold = moments[len(moments) // 2]
    since = _everything(sandbox_http, changed_after=_local(threshold))
    assert [t["id"] for t in since] == [t["id"] for t in every if _changed(t) >= threshold]
    assert 0 < len(since) < len(every)
    until = _everything(sandbox_http, changed_before=_local(threshold))
    assert {t["id"] for t in since} & {t["id"] for t in until} == {
        t["id"] for t in every if _changed(t) == threshold
    }

    now = datetime.combine(ANCHOR, time(9), UTC)  # 12:00 in Moscow, after everything generated
    sandbox.state.clock = lambda: now
    assert _everything(sandbox_http, changed_after=_local(now - timedelta(minutes=1))) == []
    old = next(t for t in every if _changed(t) < threshold and t["type_id"] == "1")
    edited = control.post(
        "/mutations",
        json={
            "op": "update_goods_transaction",
            "company_id": COMPANY,
            "transaction_id": old["id"],
            "fields": {"amount": -3, "cost": 900},
        },
    )
    assert edited.status_code == 200
    fresh = _everything(sandbox_http, changed_after=_local(now - timedelta(minutes=1)))
    assert [t["id"] for t in fresh] == [old["id"]]
    assert (
        fresh[0]["last_change_date"] == f"{ANCHOR}T12:00:00+0300"
        and fresh[0]["create_date"] == old["create_date"]
    )
    assert (fresh[0]["amount"], fresh[0]["cost"]) == (-3, "900.00")
    assert old["id"] not in {t["id"] for t in _everything(sandbox_http, changed_before=_local(threshold))}
    # An offset given is honoured: 09:00 UTC is the same moment.
    assert _everything(sandbox_http, changed_after=f"{ANCHOR}T09:00:00+00:00") == fresh


def test_a_deleted_transaction_is_no_longer_listed(
    sandbox_http: httpx.Client, sandbox: Sandbox, control: httpx.Client
) -> None:
    events: list[dict[str, Any]] = []
    sandbox.state.listeners.append(events.append)
    every = _everything(sandbox_http)
    gone = next(t for t in every if t["type_id"] == "3")
    body = {"op": "delete_goods_transaction", "company_id": COMPANY, "transaction_id": gone["id"]}
    assert control.post("/mutations", json=body).status_code == 200
    assert [t["id"] for t in _everything(sandbox_http)] == [t["id"] for t in every if t != gone]
    assert control.post("/mutations", json=body).status_code == 400  # nothing left to delete
    edit = {**body, "op": "update_goods_transaction", "fields": {"amount": 1}}
    assert control.post("/mutations", json=edit).status_code == 400
    assert [(e["resource"], e["resource_id"], e["status"]) for e in events] == [
        ("goods_operations_receipt", gone["id"], "delete")
    ]
    assert events[0]["data"]["amount"] == gone["amount"] and events[0]["data"]["client"] == []


def _answer(http: httpx.Client, path: str, headers: dict[str, str]) -> tuple[int, Any]:
    got = http.get(path, headers=headers)
    return got.status_code, got.json()


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": f"Bearer {DEFAULT_PARTNER_TOKEN}, User wrong"},
        {"Authorization": f"Bearer {DEFAULT_PARTNER_TOKEN}"},  # the user token is required
        {"Authorization": f"Bearer wrong, User {DEFAULT_USER_TOKEN}"},
        {"Accept": "application/json"},
    ],
)
def test_refused_credentials_answer_as_the_other_endpoints(
    sandbox_http: httpx.Client, headers: dict[str, str]
) -> None:
    ours = _answer(sandbox_http, PATH, headers)
    assert ours[0] in (400, 401) and ours[1]["success"] is False
    assert ours == _answer(sandbox_http, f"/transactions/{COMPANY}", headers)
    assert ours == _answer(sandbox_http, f"/records/{COMPANY}", headers)


@pytest.mark.parametrize(
    ("company", "params", "status"),
    [("999", {}, 404), ("abc", {}, 404), (str(COMPANY), {"start_date": "yesterday"}, 400)],
)
def test_unknown_companies_and_bad_filters_answer_as_the_other_endpoints(
    sandbox_http: httpx.Client, company: str, params: dict[str, str], status: int
) -> None:
    ours = sandbox_http.get(f"/storages/transactions/{company}", params=params)
    theirs = sandbox_http.get(f"/transactions/{company}", params=params)
    assert ours.status_code == theirs.status_code == status and ours.json() == theirs.json()


def test_one_failing_company_and_the_rate_limit(sandbox_http: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.reconfigure(company_status={COMPANY: CompanyStatus(402)})
    licence = sandbox_http.get(PATH)
    assert licence.status_code == 402 and licence.json() == sandbox_http.get(f"/records/{COMPANY}").json()
    assert sandbox_http.get("/storages/transactions/235565").status_code == 200
    sandbox.reconfigure(company_status={}, rate_per_second=None, rate_per_minute=2)
    answers = [sandbox_http.get(PATH) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json() == sandbox_http.get(f"/records/{COMPANY}").json()  # the same refusal
    assert int(answers[2].headers["Retry-After"]) > 0 and sandbox.stats.rate_limited == 2
