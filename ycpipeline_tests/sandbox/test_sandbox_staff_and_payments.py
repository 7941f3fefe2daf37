"""Staff schedules (`GET /schedule/…`) agree with the bookings and with dismissals; finance transactions
(`GET /transactions/…`) are the records' payments, filtered as documented (yclientsru.apib:12392)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import httpx
import pytest

from ycpipeline_sandbox import Sandbox
from ycpipeline_tests.conftest import ANCHOR

COMPANY = 235564


def test_bookings_fall_on_working_days(sandbox_http: httpx.Client, sandbox: Sandbox) -> None:
    start, end = ANCHOR - timedelta(days=13), ANCHOR
    working = {
        (member["id"], day["date"])
        for member in sandbox.state.staff(COMPANY)
        for day in sandbox_http.get(f"/schedule/{COMPANY}/{member['id']}/{start}/{end}").json()["data"]
        if day["is_working"]
    }
    booked = {(r["staff_id"], r["date"][:10]) for r in sandbox.state.iter_records(COMPANY, start, end)}
    assert booked and booked <= working
    assert len(working) < 14 * len(sandbox.state.staff(COMPANY))  # days off exist


def test_nobody_works_after_leaving(sandbox_http: httpx.Client, sandbox: Sandbox) -> None:
    member = sandbox.state.staff(COMPANY)[4]["id"]
    days = f"{ANCHOR - timedelta(days=6)}/{ANCHOR + timedelta(days=6)}"
    before = sandbox_http.get(f"/schedule/{COMPANY}/{member}/{days}").json()["data"]
    assert any(d["is_working"] for d in before if d["date"] > str(ANCHOR))
    sandbox.state.update_staff(COMPANY, member, fired=1)  # dismissed as of the anchor day
    after = sandbox_http.get(f"/schedule/{COMPANY}/{member}/{days}").json()["data"]
    assert [d["is_working"] for d in after if d["date"] > str(ANCHOR)] == [0] * 6
    assert [d for d in after if d["date"] <= str(ANCHOR)] == [d for d in before if d["date"] <= str(ANCHOR)]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/schedule/{c}/1874420/2026-11-01/2026-13-01", 400),
        ("/schedule/{c}/1874420/2026-01-01/2027-06-01", 400),
        ("/schedule/{c}/5/2026-11-01/2026-11-02", 404),
    ],
)
def test_schedule_refusals(sandbox_http: httpx.Client, path: str, status: int) -> None:
    assert sandbox_http.get(path.format(c=COMPANY)).status_code == status


def test_transactions_are_the_payments_of_the_visits(sandbox_http: httpx.Client, sandbox: Sandbox) -> None:
    day = ANCHOR - timedelta(days=4)
    listed = sandbox_http.get(
        f"/transactions/{COMPANY}", params={"start_date": str(day), "end_date": str(day)}
    )
    paid = [t for r in sandbox.state.day_records(COMPANY, day) for t in r["finance_transactions"]]
    data = listed.json()["data"]
    assert sorted(int(t["id"]) for t in data) == sorted(t["id"] for t in paid)
    assert sum(Decimal(t["amount"]) for t in data) == sum(Decimal(str(t["amount"])) for t in paid)
    account = data[0]["account"]["id"]
    client = next(t["client"]["id"] for t in data if t["client"])
    for name, value, field in (("account_id", account, "account"), ("client_id", client, "client")):
        only = sandbox_http.get(
            f"/transactions/{COMPANY}", params={"start_date": str(day), "end_date": str(day), name: value}
        ).json()["data"]
        assert only and {t[field]["id"] for t in only} == {value}


def test_a_late_payment_is_listed_on_the_day_it_was_made(
    sandbox_http: httpx.Client, sandbox: Sandbox
) -> None:
    paid_at = datetime.combine(ANCHOR + timedelta(days=2), time(9), UTC)
    sandbox.state.clock = lambda: paid_at
    old = next(
        r
        for back in range(30, 60)
        for r in sandbox.state.day_records(COMPANY, ANCHOR - timedelta(days=back))
        if r["attendance"] == 1 and not r["paid_full"] and r["services"] and not r["deleted"]
    )
    sandbox.state.pay_record(COMPANY, old["id"])
    on_the_day = sandbox_http.get(
        f"/transactions/{COMPANY}",
        params={"start_date": f"{paid_at:%Y-%m-%d}", "end_date": f"{paid_at:%Y-%m-%d}"},
    ).json()["data"]
    since = sandbox_http.get(
        f"/transactions/{COMPANY}", params={"changed_after": f"{paid_at:%Y-%m-%d}T11:59:00+03:00"}
    ).json()["data"]
    assert on_the_day == since and {t["date"] for t in since} == {f"{paid_at:%Y-%m-%d}T12:00:00+0300"}
    assert len(since) == len(old["services"]) - len(old["finance_transactions"])
