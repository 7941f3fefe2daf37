"""`GET /records/{company_id}` honours every documented filter (yclientsru.apib:5426): paging with a capped
`count`, visit and creation date windows, staff/client/creator, change times with and without an offset
under both readings of an offset-less value, `with_deleted`, `include_*`; every change moves a record's
change time (a deletion only when configured); paths tolerate a trailing slash; both Accept types work."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from ycpipeline_sandbox import CompanyStatus, Sandbox
from ycpipeline_sandbox.state import parse_change_time
from ycpipeline_tests.conftest import ANCHOR

COMPANY = 235564
MSK = ZoneInfo("Europe/Moscow")
START, END = ANCHOR - timedelta(days=14), ANCHOR + timedelta(days=7)
WINDOW = {"start_date": START.isoformat(), "end_date": END.isoformat()}
NOON_AFTER = datetime.combine(ANCHOR + timedelta(days=1), time(12), MSK)  # after the generated history


def _page(api: httpx.Client, query: dict[str, Any] | str, company: int = COMPANY) -> tuple[list[dict], dict]:
    answer = api.get(f"/records/{company}", params=query) if isinstance(query, dict) else api.get(query)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return body["data"], body["meta"]


def _all(api: httpx.Client, **query: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    page = 1
    while True:
        data, meta = _page(api, {**query, "page": page, "count": 40})
        found += data
        if len(found) >= meta["total_count"] or not data:
            assert len(found) == meta["total_count"]
            return found
        page += 1


def _ids(records: list[dict[str, Any]]) -> list[int]:
    return [r["id"] for r in records]


def _expected(
    sandbox: Sandbox, keep: Callable[[dict[str, Any]], bool], *, deleted: bool = False
) -> list[int]:
    return [
        r["id"]
        for r in sandbox.state.iter_records(COMPANY, START, END)
        if keep(r) and (deleted or not r["deleted"])
    ]


def test_visit_window_pages_and_the_count_cap(sandbox_http: httpx.Client, sandbox: Sandbox) -> None:
    assert _ids(_all(sandbox_http, **WINDOW)) == _expected(sandbox, lambda r: True)
    everything = _expected(sandbox, lambda r: True, deleted=True)
    assert _ids(_all(sandbox_http, **WINDOW, with_deleted=1)) == everything
    assert len(everything) > len(_expected(sandbox, lambda r: True))  # some are deleted
    sandbox.reconfigure(page_size_cap=10)
    data, meta = _page(sandbox_http, {**WINDOW, "with_deleted": 1, "count": 50, "page": 2})
    assert (_ids(data), meta) == (everything[10:20], {"page": 2, "total_count": len(everything)})


@pytest.mark.parametrize(
    ("name", "value_of"),
    [
        ("staff_id", lambda r: r["staff_id"]),
        ("client_id", lambda r: r["client"]["id"] if r["client"] else None),
        ("created_user_id", lambda r: r["created_user_id"]),
    ],
)
def test_equality_filters(
    sandbox_http: httpx.Client, sandbox: Sandbox, name: str, value_of: Callable[[dict[str, Any]], Any]
) -> None:
    sample = next(
        r for r in sandbox.state.iter_records(COMPANY, START, END) if r["client"] and r["created_user_id"]
    )
    wanted = value_of(sample)
    expected = _expected(sandbox, lambda r: value_of(r) == wanted)
    assert 0 < len(expected) < len(_expected(sandbox, lambda r: True))
    assert _ids(_all(sandbox_http, **WINDOW, **{name: wanted})) == expected


def test_creation_date_window(sandbox_http: httpx.Client, sandbox: Sandbox) -> None:
    first, last = ANCHOR - timedelta(days=9), ANCHOR - timedelta(days=7)

    def created(r: dict[str, Any]) -> date:
        return parse_change_time(r["create_date"]).astimezone(MSK).date()

    expected = _expected(sandbox, lambda r: first <= created(r) <= last, deleted=True)
    found = _all(
        sandbox_http, **WINDOW, with_deleted=1, c_start_date=first.isoformat(), c_end_date=last.isoformat()
    )
    assert expected and _ids(found) == expected


@pytest.mark.parametrize("reading", ["local", "utc"])
def test_changed_after_with_and_without_an_offset(
    sandbox_http: httpx.Client, sandbox: Sandbox, reading: str
) -> None:
    sandbox.reconfigure(changed_after_reading=reading)
    sandbox.state.clock = lambda: NOON_AFTER
    old = sandbox.state.day_records(COMPANY, ANCHOR - timedelta(days=40))[0]
    sandbox.state.set_attendance(COMPANY, old["id"], -1)  # changed at 12:00 Moscow, 09:00 UTC

    day = (ANCHOR + timedelta(days=1)).isoformat()

    def changed_after(value: str) -> list[int]:
        return _ids(_page(sandbox_http, f"/records/{COMPANY}?changed_after={value}&with_deleted=1")[0])

    # With an offset every reading agrees; `+` left unescaped in the query arrives as a space.
    for value in (
        f"{day}T11:59:00%2B03:00",
        f"{day}T11:59:00%2B0300",
        f"{day}T08:59:00Z",
        f"{day}T11:59:00+03:00",
        f"{day} 11:59:00+0300",
    ):
        assert changed_after(value) == [old["id"]], value
    assert changed_after(f"{day}T12:01:00%2B03:00") == []
    # Without one, the knob decides: company-local time or UTC.
    assert changed_after(f"{day}T11:59:00") == ([old["id"]] if reading == "local" else [])
    assert changed_after(f"{day}T08:59:00") == [old["id"]]


def test_changed_between_reads_the_generated_history(sandbox_http: httpx.Client, sandbox: Sandbox) -> None:
    after = datetime.combine(ANCHOR - timedelta(days=10), time(0), MSK)
    before = datetime.combine(ANCHOR - timedelta(days=5), time(0), MSK)
    first, last = sandbox.state.history(COMPANY)
    expected = [
        r["id"]
        for r in sandbox.state.iter_records(COMPANY, first, last)
        if after <= parse_change_time(r["last_change_date"]) <= before
    ]
    found = _all(
        sandbox_http, changed_after=after.isoformat(), changed_before=before.isoformat(), with_deleted=1
    )
    assert len(expected) > 40 and sorted(_ids(found)) == sorted(expected)


@pytest.mark.parametrize("bump", [True, False])
def test_every_change_moves_the_change_time_a_deletion_as_configured(
    sandbox_http: httpx.Client, sandbox: Sandbox, bump: bool
) -> None:
    sandbox.reconfigure(delete_bumps_change_time=bump)
    ticks = iter(NOON_AFTER + timedelta(minutes=n) for n in range(100))
    sandbox.state.clock = lambda: next(ticks)
    state = sandbox.state
    day = ANCHOR - timedelta(days=3)
    records = [r for r in state.day_records(COMPANY, day) if r["services"] and not r["deleted"]]
    changes: list[Callable[[int], dict[str, Any]]] = [
        lambda rid: state.set_attendance(COMPANY, rid, 2),
        lambda rid: state.set_service_cost(COMPANY, rid, "999.90"),
        lambda rid: state.move_record(COMPANY, rid, datetime.combine(day + timedelta(days=1), time(15), MSK)),
        lambda rid: state.pay_record(COMPANY, rid),
        lambda rid: state.patch_record(COMPANY, rid, {"comment": "\x00 hostile \ud800"}),
        lambda rid: state.add_record(COMPANY, datetime.combine(day, time(18), MSK), like=rid),
    ]
    for record, change in zip(records, changes, strict=False):
        assert parse_change_time(change(record["id"])["last_change_date"]) > parse_change_time(
            record["last_change_date"]
        )
    victim = records[-1]
    before = state.get_record(COMPANY, victim["id"])
    assert before is not None
    deleted = state.delete_record(COMPANY, victim["id"])
    assert (deleted["last_change_date"] != before["last_change_date"]) is bump
    since = (NOON_AFTER + timedelta(minutes=len(changes))).isoformat()
    seen = _ids(_page(sandbox_http, {"changed_after": since, "with_deleted": 1})[0])
    assert (victim["id"] in seen) is bump
    assert victim["id"] not in _ids(
        _page(sandbox_http, {"changed_after": since})[0]
    )  # deleted: only on request


def test_without_dates_every_visit_date_is_listed(sandbox_http: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.state.clock = lambda: NOON_AFTER
    old = sandbox.state.day_records(COMPANY, ANCHOR - timedelta(days=55))[1]
    moved = sandbox.state.day_records(COMPANY, ANCHOR - timedelta(days=2))[1]
    sandbox.state.set_attendance(COMPANY, old["id"], 1 if old["attendance"] != 1 else -1)
    sandbox.state.move_record(
        COMPANY, moved["id"], datetime.combine(ANCHOR + timedelta(days=90), time(11), MSK)
    )
    found = _ids(_page(sandbox_http, {"changed_after": NOON_AFTER.isoformat(), "with_deleted": 1})[0])
    assert found == [old["id"], moved["id"]]  # visit order: 55 days back, then 90 days ahead


def test_finance_transactions_agree_with_paid_full(sandbox_http: httpx.Client, sandbox: Sandbox) -> None:
    records = _all(sandbox_http, **WINDOW, include_finance_transactions=1)
    completed = [r for r in records if r["attendance"] == 1 and r["services"]]
    for record in records:
        total = sum(Decimal(str(s["cost"])) for s in record["services"])
        paid = sum(Decimal(str(t["amount"])) for t in record["finance_transactions"])
        assert (paid == total) if record["paid_full"] else (paid < total or not record["services"])
        assert record["payment_status"] == record["paid_full"]
        assert all(t["record_id"] == record["id"] for t in record["finance_transactions"])
    assert sum(r["paid_full"] for r in completed) > len(completed) / 2 > 0
    unpaid = next(r for r in completed if not r["paid_full"])
    sandbox.state.pay_record(COMPANY, unpaid["id"])
    answer = sandbox_http.get(f"/record/{COMPANY}/{unpaid['id']}", params={"include_finance_transactions": 1})
    paid = answer.json()["data"]
    assert paid["paid_full"] == 1
    assert sum(Decimal(str(t["amount"])) for t in paid["finance_transactions"]) == sum(
        Decimal(str(s["cost"])) for s in paid["services"]
    )


def test_trailing_slashes_and_both_accept_types(sandbox_http: httpx.Client) -> None:
    for path in (
        f"/records/{COMPANY}/",
        f"/company/{COMPANY}/",
        f"/company/{COMPANY}/services/",
        f"/staff/{COMPANY}/",
    ):
        answer = sandbox_http.get(path)
        assert answer.status_code == 200, path  # served, not redirected (httpx does not follow by default)
    for accept, status in (("application/vnd.api.v2+json", 200), ("application/json", 400)):
        answer = sandbox_http.get(f"/records/{COMPANY}", headers={"Accept": accept})
        assert answer.status_code == status


@pytest.mark.parametrize(
    "query", ["start_date=yesterday", "changed_after=2026-13-01T00:00:00", "staff_id=abc", "page=two"]
)
def test_bad_filters_get_the_documented_400(sandbox_http: httpx.Client, query: str) -> None:
    answer = sandbox_http.get(f"/records/{COMPANY}?{query}")
    assert answer.status_code == 400
    body = answer.json()
    assert (body["success"], body["data"], body["meta"]["message"]) == (
        False,
        None,
        "Недопустимое значение фильтра",
    )


def test_an_empty_list_as_not_found_when_configured(sandbox_http: httpx.Client, sandbox: Sandbox) -> None:
    far = {"start_date": "2031-01-01", "end_date": "2031-01-02"}
    assert _page(sandbox_http, far) == ([], {"page": 1, "total_count": 0})
    sandbox.reconfigure(empty_list_status=200)
    answer = sandbox_http.get(f"/records/{COMPANY}", params=far)
    assert (answer.status_code, answer.json()) == (
        200,
        {"success": False, "data": None, "meta": {"message": "Не найдено"}},
    )


@pytest.mark.parametrize("status", [401, 402, 403, 404, 500, 503])
def test_one_company_of_a_chain_fails_the_other_answers(
    sandbox_http: httpx.Client, sandbox: Sandbox, status: int
) -> None:
    sandbox.reconfigure(company_status={235565: CompanyStatus(status)})
    for path in ("/records/235565", "/company/235565", "/company/235565/staff", "/record/235565/1"):
        answer = sandbox_http.get(path)
        assert (answer.status_code, answer.json()["success"]) == (status, False), path
    assert sandbox_http.get(f"/records/{COMPANY}").status_code == 200


def test_hostile_values_are_served_as_they_are(sandbox_http: httpx.Client, sandbox: Sandbox) -> None:
    record = sandbox.state.day_records(COMPANY, ANCHOR - timedelta(days=1))[0]
    hostile = {"comment": "a\x00b \ud800", "staff_id": 2**63 + 5, "services": [{"id": 2**70, "cost": 1e300}]}
    sandbox.state.patch_record(COMPANY, record["id"], hostile)
    served = sandbox_http.get(f"/record/{COMPANY}/{record['id']}").json()["data"]
    assert {k: served[k] for k in hostile} == hostile


@pytest.mark.parametrize(
    "query",
    [
        "start_date=0001-01-01&end_date=9999-12-31&count=1",  # centuries: clamped to the history, no overflow
        "changed_after=0001-01-01T00:00:00%2B14:00",  # before the calendar starts in UTC
        "changed_after=9999-12-31T23:59:59%2B14:00",
        "changed_before=0001-01-02T00:00:00&changed_after=0001-01-01T00:00:00",
        "changed_before=9999-12-31T23:59:59",
        "page=99999999999999999999",
        "count=-5&page=-1",
        "staff_id=99999999999999999999999",
        "client_id=%F0%9F%92%85",
        "start_date=2026-11-20%00",
        "changed_after=%00",
    ],
)
def test_absurd_parameters_never_break_the_server(sandbox_http: httpx.Client, query: str) -> None:
    answer = sandbox_http.get(f"/records/{COMPANY}?{query}")
    assert answer.status_code in (200, 400), answer.text
    assert answer.json()["success"] is (answer.status_code == 200)
