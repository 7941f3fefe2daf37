"""The cash ledger, `GET /transactions/{company_id}` (yclientsru.apib:12390), by windows of dates.

Nightly: the last `overlap_days`; weekly (when the last wide read is older than a week): the last
`wide_days`, which also catches late edits and deletions further back. A transaction of the window the
API no longer lists gets `removed_at` (the description has a `deleted` filter but says nothing of how a
deleted transaction is listed by default: UNCERTAIN, so it is read as gone) — only when the listing came
whole (`load.read_listing`): a listing cut short by a page cap retires nothing. A transaction dated
outside the window asked for is quarantined (`sync.windows`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from sqlalchemy import Connection, Engine, text

from ycpipeline.client import YClientsClient
from ycpipeline.normalize.streams import finance_transaction_row
from ycpipeline.sync.streams.load import (
    Spec,
    StreamResult,
    finish,
    merge_staged,
    read_listing,
    retire_unlisted,
    stage_rows,
)
from ycpipeline.sync.windows import reject_outside_window
from ycpipeline.validation.streams import CashTransactionRow
from ycpipeline.warehouse.schema import finance_transactions

STREAM = "finance_transactions"
SPEC = Spec(
    STREAM,
    finance_transactions,
    ("company_id", "transaction_id"),
    CashTransactionRow,
    ("transaction_id", "made_on"),
)
WIDE_EVERY = timedelta(days=7)


@dataclass(frozen=True)
class LedgerWindows:
    """How far back the nightly and the weekly reads go (CASH_LEDGER_OVERLAP_DAYS, CASH_LEDGER_WIDE_DAYS)."""

    overlap_days: int
    wide_days: int


def last_wide_read(conn: Connection, company_id: int) -> datetime | None:
    """When the company's cash ledger was last read over the wide window (`yclients.sync_state`)."""
    return conn.execute(
        text("SELECT last_reconciled_at FROM yclients.sync_state WHERE company_id = :c AND stream = :s"),
        {"c": company_id, "s": STREAM},
    ).scalar()


def ledger_window(
    today: date, windows: LedgerWindows, last_wide: datetime | None, now: datetime
) -> tuple[date, date, bool]:
    """The dates to read and whether it is the wide read (due once a week)."""
    wide = last_wide is None or last_wide <= now - WIDE_EVERY
    back = windows.wide_days if wide else windows.overlap_days
    return today - timedelta(days=back), today, wide


def sync_cash_ledger(
    client: YClientsClient,
    engine: Engine,
    company_id: int,
    tz: tzinfo,
    windows: LedgerWindows,
    *,
    run_id: str | None = None,
    now: datetime | None = None,
) -> StreamResult:
    """Read the window due for the company, upsert it, retire what the window no longer lists."""
    now = now or datetime.now(UTC)
    today = now.astimezone(tz).date()
    with engine.connect() as conn:
        start, end, wide = ledger_window(today, windows, last_wide_read(conn, company_id), now)
    listed = read_listing(
        lambda: client.iter_transactions(company_id, start, end),
        f"transactions of company {company_id} ({start}..{end})",
    )
    synced_at = datetime.now(UTC)
    rows = [finance_transaction_row(item, company_id, tz, synced_at) for item in listed.items]
    result = StreamResult(
        STREAM,
        company_id,
        fetched=len(rows),
        notes={"window": f"{start}..{end}", "wide": wide, **listed.notes()},
    )
    result.outside_window = reject_outside_window(rows, "made_on", start, end)
    with engine.begin() as conn:
        staged = stage_rows(conn, SPEC, rows)
        result.counts = merge_staged(conn, SPEC, staged)
        if listed.complete:
            result.retired = retire_unlisted(
                conn,
                SPEC,
                staged,
                company_id,
                scope="t.made_on BETWEEN :start AND :end",
                start=start,
                end=end,
            )
        if wide:
            conn.execute(
                text("""
                    INSERT INTO yclients.sync_state (company_id, stream, last_reconciled_at, updated_at)
                    VALUES (:c, :s, :at, now())
                    ON CONFLICT (company_id, stream) DO UPDATE SET
                        last_reconciled_at = greatest(sync_state.last_reconciled_at, EXCLUDED.last_reconciled_at),
                        updated_at = now()
                """),
                {"c": company_id, "s": STREAM, "at": now},
            )
        return finish(conn, result, staged, run_id, (start, end))
