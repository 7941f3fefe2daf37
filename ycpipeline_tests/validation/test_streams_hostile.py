"""Hostile values in every stream beside the records: quarantined with their reasons, sound rows loaded.

Contract: ids of 2^63 and more, NUL, lone surrogates, absurd amounts, dates in 1900 or 9999 and missing
fields each put their row in `yclients.rejected_rows` with a reason naming the field, while the sound rows
of the same page load; nothing raises. Served by the sandbox over HTTP where it can carry the value (a
lone surrogate cannot be encoded by its JSON writer: those rows go through the same normaliser and stager).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text

from ycpipeline.client import YClientsClient
from ycpipeline.normalize.streams import staff_schedule_row
from ycpipeline.sync.audit import store_rejected
from ycpipeline.sync.companies import company_timezone
from ycpipeline.sync.loader import merge_staged, stage_rows
from ycpipeline.sync.records import sync_records
from ycpipeline.sync.streams import (
    CASH_LEDGER,
    CLIENTS,
    PAYMENT_ACCOUNTS,
    SCHEDULES,
    SERVICE_CATEGORIES,
    STAFF,
)
from ycpipeline_sandbox import Sandbox
from ycpipeline_tests.conftest import ANCHOR
from ycpipeline_tests.support.stream_loads import load

COMPANY = 235564


def _rejected(engine: Engine, entity: str) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT source_key, reasons FROM yclients.rejected_rows WHERE entity = :e"), {"e": entity}
        ).all()
    return {str(key): " | ".join(reasons) for key, reasons in rows}


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM yclients.{table}")).scalar_one())


def test_catalogue_extras_quarantine_hostile_items(
    sandbox: Sandbox, client: YClientsClient, engine: Engine
) -> None:
    accounts = sandbox.state.salons[COMPANY].accounts
    sound = len(accounts)
    accounts.extend(
        [
            {**accounts[0], "id": 2**64},
            {**accounts[0], "id": 900001, "title": "Касса\x00"},
            {**accounts[0], "id": 900002, "title": None},
            {**accounts[0], "id": "не число"},
        ]
    )
    categories = sandbox.state.service_categories(COMPANY)
    sandbox.state.update_service_category(COMPANY, categories[0]["id"], title="\x00")
    sandbox.state.update_service_category(COMPANY, categories[1]["id"], id=2**63)
    for extra in (PAYMENT_ACCOUNTS, SERVICE_CATEGORIES):
        result = load(extra, client, engine, COMPANY)
        assert result.rejected == (4 if extra is PAYMENT_ACCOUNTS else 2), result
    assert _count(engine, "payment_accounts") == sound
    assert _count(engine, "service_categories") == len(categories) - 2
    reasons = _rejected(engine, "payment_accounts") | _rejected(engine, "service_categories")
    assert len(reasons) == 6
    assert all("id" in r or "title" in r for r in reasons.values()), reasons


def test_payments_cash_ledger_and_clients_quarantine_hostile_values(
    sandbox: Sandbox, client: YClientsClient, engine: Engine
) -> None:
    zone = company_timezone(client, engine, COMPANY)
    day = ANCHOR - timedelta(days=1)
    load(STAFF, client, engine, COMPANY, booking_form_url=None, staff_link_template="{form}")
    paid = [r for r in sandbox.state.day_records(COMPANY, day) if r["finance_transactions"]]
    assert len(paid) >= 4
    hostile: list[dict[str, Any]] = [
        {"amount": 10**13},  # beyond numeric(12,2)
        {"date": "1900-01-01 10:00:00"},
        {"date": "9999-12-31 10:00:00"},
        {"id": 2**63},
    ]
    for record, change in zip(paid, hostile, strict=False):
        txn = record["finance_transactions"][0]
        sandbox.state.patch_record(COMPANY, record["id"], {"finance_transactions": [{**txn, **change}]})
    sync_records(client, engine, COMPANY, zone, day, day)
    payments = _rejected(engine, "record_payments")
    assert len(payments) == 4 and _rejected(engine, "records") == {}, payments
    assert _count(engine, "record_payments") > 0

    now = datetime.combine(ANCHOR, datetime.min.time(), UTC) + timedelta(hours=12)
    ledger = load(
        CASH_LEDGER, client, engine, COMPANY, now=now, cash_ledger_overlap_days=3, cash_ledger_wide_days=10
    )
    reasons = _rejected(engine, "finance_transactions")
    # The ledger lists by the transaction's own date: those of 1900 and 9999 fall outside any read window.
    assert ledger.rejected == 2 and ledger.fetched > 2
    assert _count(engine, "finance_transactions") == ledger.fetched - 2
    assert any("amount" in r for r in reasons.values()), reasons
    assert any("transaction_id" in r for r in reasons.values()), reasons

    # A client card with a NUL in the name and one with no id: the clients search lists them as it is.
    target = next(r for r in sandbox.state.day_records(COMPANY, day) if r.get("client"))
    sandbox.state.update_client(COMPANY, target["client"]["id"], name="Анна\x00")
    result = load(CLIENTS, client, engine, COMPANY)
    clients = _rejected(engine, "clients")
    assert result.rejected == len(clients) >= 1 and result.fetched > result.rejected
    assert any("name" in r for r in clients.values()), clients


def test_staff_schedules_quarantine_hostile_days(engine: Engine) -> None:
    synced_at = datetime.now(UTC)
    good = {"staff_id": 5, "date": "2026-11-02", "slots": [{"from": "10:00", "to": "19:00"}]}
    days: list[dict[str, Any]] = [
        good,
        {**good, "staff_id": 2**64},
        {**good, "date": "1900-01-01"},
        {**good, "date": "9999-12-31"},
        {**good, "date": None},
        {**good, "staff_id": 6, "slots": [{"from": "10:00", "to": "\ud800"}]},
        {**good, "staff_id": 7, "slots": "\x00"},
        {**good, "staff_id": 8, "busy_intervals": [{"from": "25:00", "to": "26:00"}]},
        {"date": "2026-11-02"},
    ]
    rows = [staff_schedule_row(day, COMPANY, synced_at) for day in days]
    with engine.begin() as conn:
        staged = stage_rows(conn, SCHEDULES.spec, rows)
        merge_staged(conn, SCHEDULES.spec, staged)
        rejected = store_rejected(conn, staged.rejected, None)
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT staff_id, work_date, scheduled_minutes FROM yclients.staff_schedules")
        ).all()
    assert [tuple(r) for r in stored] == [(5, date(2026, 11, 2), 540)]
    assert rejected == len(days) - 1
    reasons = _rejected(engine, "staff_schedules")
    assert len(reasons) >= 4 and all(reasons.values())
