"""The cash ledger, `GET /transactions/{company_id}` (yclientsru.apib:12390), by windows of dates.

Nightly: the last CASH_LEDGER_OVERLAP_DAYS; weekly (when the last wide read is older than a week): the last
CASH_LEDGER_WIDE_DAYS, which also catches late edits and deletions further back. A transaction of the window
the API no longer lists gets `removed_at` (the description has a `deleted` filter but says nothing of how a
deleted transaction is listed by default: UNCERTAIN, so it is read as gone) — only when the listing came
whole (`declaration.read_listing`): a listing cut short by a page cap retires nothing. A transaction dated
outside the window asked for is quarantined (`sync.windows`).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import Connection

from ycpipeline.normalize.streams import finance_transaction_row
from ycpipeline.sync.declaration import (
    ID,
    NUMBER,
    OBJECT,
    OPTIONAL_ID,
    TEXT,
    CompanyRead,
    Read,
    Retire,
    Spec,
    Stream,
    StreamOptions,
    read_listing,
)
from ycpipeline.sync.state import read_state, write_state
from ycpipeline.validation.streams import CashTransactionRow
from ycpipeline.warehouse.schema import finance_transactions

STREAM = "finance_transactions"
WIDE_EVERY = timedelta(days=7)


def ledger_window(
    today: date, options: StreamOptions, last_wide: datetime | None, now: datetime
) -> tuple[date, date, bool]:
    """The dates to read and whether it is the wide read (due once a week)."""
    wide = last_wide is None or last_wide <= now - WIDE_EVERY
    back = options.cash_ledger_wide_days if wide else options.cash_ledger_overlap_days
    return today - timedelta(days=back), today, wide


def _read(job: CompanyRead) -> Read:
    with job.engine.connect() as conn:
        last_wide = read_state(conn, STREAM, job.company_id).last_reconciled_at
        start, end, wide = ledger_window(job.today, job.options, last_wide, job.now)
    read = read_listing(
        lambda: job.client.iter_transactions(job.company_id, start, end),
        f"transactions of company {job.company_id} ({start}..{end})",
        (start, end),
    )
    read.notes["wide"] = wide
    return read


def _mark_wide_read(conn: Connection, job: CompanyRead, read: Read) -> None:
    """Remember a wide read, so the next one is due a week later."""
    if read.notes["wide"]:
        write_state(conn, job.company_id, STREAM, reconciled_at=job.now)


CASH_LEDGER = Stream(
    Spec(
        STREAM,
        finance_transactions,
        ("company_id", "transaction_id"),
        CashTransactionRow,
    ),
    asset="yclients_cash_ledger",
    fields={
        "id": ID,
        "document_id": OPTIONAL_ID,
        "date": TEXT,
        "amount": NUMBER,
        "account": OBJECT,
        "expense": OBJECT,
        "client": OBJECT,
        "master": OBJECT,
        "supplier": OBJECT,
        "comment": TEXT,
        "last_change_date": TEXT,
    },
    documented=frozenset(
        {
            "record_id",
            "visit_id",
            "sold_item_id",
            "sold_item_type",
            "goods_transaction_id",
            "deleted",
            "create_date",
        }
    ),
    read=_read,
    row=lambda item, job: finance_transaction_row(item, job.company_id, job.tz, job.now),
    retire=Retire("unlisted", "t.made_on BETWEEN :start AND :end"),
    window_column="made_on",
    after_merge=_mark_wide_read,
    cadence="nightly",
    domain="finance",
    checks_prefix="cash_ledger",
    description="The cash ledger of each company (yclients.finance_transactions, GET /transactions/{id}, "
    "yclientsru.apib:12390), paged: nightly the last CASH_LEDGER_OVERLAP_DAYS days, once a week the last "
    "CASH_LEDGER_WIDE_DAYS (late edits and deletions). Transactions a read window no longer lists get "
    "`removed_at`. The payments of records ride on the records calls instead (yclients.record_payments).",
)
