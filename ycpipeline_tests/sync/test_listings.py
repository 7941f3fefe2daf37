"""Every listing goes through one pager, and nothing is retired on the word of a listing that is not
known whole; rows served outside the window asked for are quarantined, never stored as if inside it.

Against the sandbox over HTTP (its per-listing page caps and `empty_page` fault) and a real Postgres:
a `/transactions` cap of 300 under YCLIENTS_PAGE_SIZE=500 loads every transaction and retires none (the
marts' cash agrees with the API); a clients search capped below the asked page size pages to the end;
a clients listing that ends short of `total_count` retires nothing, nor does a services list short of
its `total_count`; a 2016 payment, an out-of-window record and an out-of-window schedule day land in
`yclients.rejected_rows` with the window named (the rule: `ycpipeline/sync/windows.py`).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, text

from ycpipeline.marts.refresh import refresh_all
from ycpipeline.serving import serve_in_thread
from ycpipeline.settings import defaults
from ycpipeline.sync.records import sync_records
from ycpipeline.sync.streams import CASH_LEDGER, CLIENTS, SCHEDULES, SERVICES
from ycpipeline_sandbox import Fault, Sandbox, sandbox_client
from ycpipeline_sandbox.api.clients_search import clients_of
from ycpipeline_tests.conftest import ANCHOR
from ycpipeline_tests.support.clients import client_options
from ycpipeline_tests.support.edited_answers import EditedAnswers, with_stray_row
from ycpipeline_tests.support.stream_loads import load

MSK = ZoneInfo("Europe/Moscow")
COMPANY = 235564
WINDOWS = {
    "cash_ledger_overlap_days": 60,
    "cash_ledger_wide_days": 60,
}  # the nightly and the weekly read the same days
NOW = datetime.combine(ANCHOR, datetime.min.time(), UTC) + timedelta(hours=12)


def _client(url: str, page_size: int) -> Any:
    return sandbox_client(url, options=client_options(page_size=page_size, backoff_base=0.01, timeout=5))


def _ledger_window() -> tuple[date, date]:
    today = NOW.astimezone(MSK).date()
    return today - timedelta(days=WINDOWS["cash_ledger_wide_days"]), today


def _api_transactions(sandbox: Sandbox) -> dict[int, Decimal]:
    return {
        int(txn["id"]): Decimal(str(txn["amount"]))
        for _, txn in sandbox.state.payments(COMPANY, *_ledger_window())
    }


def _stored_transactions(engine: Engine) -> dict[int, tuple[Decimal, bool]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT transaction_id, amount, removed_at IS NOT NULL FROM yclients.finance_transactions")
        ).all()
    return {r[0]: (r[1], r[2]) for r in rows}


def test_a_transactions_page_cap_below_the_page_size_loads_all_and_retires_none(
    engine: Engine, sandbox: Sandbox, sandbox_url: str
) -> None:
    sandbox.reconfigure(listing_page_caps={"transactions": 300})
    api = _api_transactions(sandbox)
    assert len(api) > 2 * 300, "the window must span several capped pages"
    with _client(sandbox_url, 50) as small:
        load(CASH_LEDGER, small, engine, COMPANY, now=NOW, **WINDOWS)
    with _client(sandbox_url, 500) as large:  # YCLIENTS_PAGE_SIZE=500 against the cap of 300
        result = load(CASH_LEDGER, large, engine, COMPANY, now=NOW, **WINDOWS)
    stored = _stored_transactions(engine)
    assert {k: v for k, (v, removed) in stored.items() if not removed} == api
    assert (result.fetched, result.retired, result.notes["listing"]) == (len(api), 0, "complete")
    refresh_all(engine, defaults().mart_policy(), full=True)
    with engine.connect() as conn:
        cash_in = conn.execute(
            text(
                "SELECT sum(cash_in) FROM marts.branch_daily WHERE company_id = :c AND date BETWEEN :s AND :e"
            ),
            {"c": COMPANY, "s": _ledger_window()[0], "e": _ledger_window()[1]},
        ).scalar_one()
    assert cash_in == sum(v for v in api.values() if v > 0)


def _stored_clients(engine: Engine) -> dict[int, bool]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT client_id, removed_at IS NOT NULL FROM yclients.clients")).all()
    return {r[0]: r[1] for r in rows}


def test_a_clients_search_capped_below_the_asked_page_size_pages_to_the_end(
    engine: Engine, sandbox: Sandbox, sandbox_url: str
) -> None:
    sandbox.reconfigure(listing_page_caps={"clients": 40})
    every = {c["id"] for c in clients_of(sandbox.state, COMPANY)}
    assert len(every) > 3 * 40
    with _client(sandbox_url, 200) as client:
        result = load(CLIENTS, client, engine, COMPANY)
    assert set(_stored_clients(engine)) == every
    assert (result.fetched, result.notes["listing"]) == (len(every), "complete")


def test_a_clients_listing_that_ends_short_of_total_count_retires_nothing(
    engine: Engine, sandbox: Sandbox, sandbox_url: str
) -> None:
    with _client(sandbox_url, 200) as client:
        load(CLIENTS, client, engine, COMPANY)
        every = set(_stored_clients(engine))
        # The server now caps at 40 and answers page 2 empty, on both reads: the listing stays short.
        sandbox.reconfigure(listing_page_caps={"clients": 40})
        sandbox.faults.add(Fault("empty_page", path="/clients/search", page=2, times=2))
        result = load(CLIENTS, client, engine, COMPANY)
    assert _stored_clients(engine) == {c: False for c in every}
    assert result.retired == 0 and result.notes["listing"].startswith("incomplete, nothing retired")
    assert f"total_count {len(every)}" in result.notes["listing"]


@pytest.fixture
def stray_payment(sandbox: Sandbox) -> Iterator[str]:
    """The sandbox, its transactions lists carrying one more payment dated 2016 (a new id)."""

    def make(data: list[Any]) -> dict[str, Any]:
        return {**copy.deepcopy(data[0]), "id": "990000001", "date": "2016-03-01T12:00:00+0300"}

    with serve_in_thread(EditedAnswers(sandbox, "/transactions/", with_stray_row(make))) as base:
        yield f"{base}/api/v1"


def _rejected(engine: Engine) -> dict[str, tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT source_key, entity, reasons::text FROM yclients.rejected_rows")
        ).all()
    return {r[0]: (r[1], r[2]) for r in rows}


def test_a_payment_outside_the_window_is_quarantined_naming_the_window(
    engine: Engine, sandbox: Sandbox, stray_payment: str
) -> None:
    start, end = _ledger_window()
    sandbox.reconfigure(listing_page_caps={"transactions": 1000})  # one page: the stray comes once
    with _client(stray_payment, 1000) as client:
        result = load(CASH_LEDGER, client, engine, COMPANY, now=NOW, **WINDOWS)
    assert 990000001 not in _stored_transactions(engine)
    entity, reasons = _rejected(engine)["990000001"]
    assert entity == "finance_transactions"
    assert f"made_on 2016-03-01 is outside the requested window {start}..{end}" in reasons
    assert (result.outside_window, result.rejected, result.retired) == (1, 1, 0)
    assert {k for k, (_, removed) in _stored_transactions(engine).items() if not removed} == set(
        _api_transactions(sandbox)
    )


def test_a_record_outside_the_window_is_quarantined_and_the_rest_load(
    engine: Engine, sandbox: Sandbox
) -> None:
    day = ANCHOR - timedelta(days=3)
    elsewhere = sandbox.state.day_records(COMPANY, ANCHOR - timedelta(days=30))[0]
    with (
        serve_in_thread(
            EditedAnswers(sandbox, f"/records/{COMPANY}", with_stray_row(lambda _: copy.deepcopy(elsewhere)))
        ) as base,
        _client(f"{base}/api/v1", 50) as client,
    ):
        sync_records(client, engine, COMPANY, MSK, day, day)
    with engine.connect() as conn:
        stored = set(conn.execute(text("SELECT record_id FROM yclients.records")).scalars())
    assert stored == {r["id"] for r in sandbox.state.day_records(COMPANY, day)}
    entity, reasons = _rejected(engine)[str(elsewhere["id"])]
    assert entity == "records" and f"outside the requested window {day}..{day}" in reasons


def test_a_schedule_day_outside_the_window_is_quarantined(engine: Engine, sandbox: Sandbox) -> None:
    start, end = ANCHOR - timedelta(days=6), ANCHOR

    def make(data: list[Any]) -> dict[str, Any]:
        return {**copy.deepcopy(data[0]), "date": "2016-02-04"}

    with (
        serve_in_thread(EditedAnswers(sandbox, "/staff/schedule", with_stray_row(make))) as base,
        _client(f"{base}/api/v1", 50) as client,
    ):
        result = load(SCHEDULES, client, engine, COMPANY, window=(start, end))
    with engine.connect() as conn:
        days = set(conn.execute(text("SELECT work_date FROM yclients.staff_schedules")).scalars())
        reasons = conn.execute(
            text("SELECT reasons::text FROM yclients.rejected_rows WHERE entity = 'staff_schedules'")
        ).scalar()
    assert days and all(start <= d <= end for d in days)
    assert (
        reasons is not None
        and f"work_date 2016-02-04 is outside the requested window {start}..{end}" in reasons
    )
    assert result.outside_window == 1


def test_a_catalogue_list_short_of_its_total_count_marks_nothing_removed(
    engine: Engine, sandbox: Sandbox, sandbox_url: str
) -> None:
    with _client(sandbox_url, 50) as client:
        load(SERVICES, client, engine, COMPANY, booking_form_url=None, service_link_template="{form}")
    with engine.connect() as conn:
        every = set(conn.execute(text("SELECT service_id FROM yclients.services")).scalars())
    assert len(every) > 5

    def cut(envelope: dict[str, Any]) -> None:
        del envelope["data"][5:]  # five services while total_count still counts them all

    with (
        serve_in_thread(EditedAnswers(sandbox, f"/company/{COMPANY}/services", cut)) as base,
        _client(f"{base}/api/v1", 50) as client,
    ):
        result = load(
            SERVICES, client, engine, COMPANY, booking_form_url=None, service_link_template="{form}"
        )
    with engine.connect() as conn:
        removed = conn.execute(
            text("SELECT count(*) FROM yclients.services WHERE removed_at IS NOT NULL")
        ).scalar()
    assert removed == 0
    assert (result.retired, result.notes["listing"]) == (
        0,
        f"incomplete, nothing retired: total_count {len(every)} but 5 distinct objects arrived (5 rows)",
    )
