"""What a stream remembers between reads, per company: `yclients.sync_state` (`watermark`: up to when its
changes were read whole; `last_reconciled_at`: its last wide read), and the `changed_after` a watermark
asks for. Records, goods transactions and the cash ledger keep theirs here under their stream's name."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from sqlalchemy import Connection, text


@dataclass(frozen=True)
class SyncState:
    """A company's row of `yclients.sync_state` for one stream."""

    company_id: int
    watermark: datetime | None
    last_reconciled_at: datetime | None


def read_states(
    conn: Connection, stream: str, company_ids: Iterable[int] | None = None
) -> dict[int, SyncState]:
    """The stream's state of the given companies (all when None) that have one."""
    rows = conn.execute(
        text("""
            SELECT company_id, watermark, last_reconciled_at FROM yclients.sync_state
            WHERE stream = :stream
              AND (CAST(:ids AS bigint[]) IS NULL OR company_id = ANY(CAST(:ids AS bigint[])))
        """),
        {"stream": stream, "ids": None if company_ids is None else list(company_ids)},
    ).all()
    return {r.company_id: SyncState(r.company_id, r.watermark, r.last_reconciled_at) for r in rows}


def read_state(conn: Connection, stream: str, company_id: int) -> SyncState:
    """One company's state of the stream (all None before its first read)."""
    return read_states(conn, stream, [company_id]).get(company_id, SyncState(company_id, None, None))


def write_state(
    conn: Connection,
    company_id: int,
    stream: str,
    *,
    watermark: datetime | None = None,
    reconciled_at: datetime | None = None,
) -> None:
    """Move the stream's marks forward (a None leaves that mark as it is)."""
    # Never backwards: a slow pass that started earlier than one already committed keeps the later mark.
    conn.execute(
        text("""
            INSERT INTO yclients.sync_state (company_id, stream, watermark, last_reconciled_at, updated_at)
            VALUES (:c, :stream, :w, :r, now())
            ON CONFLICT (company_id, stream) DO UPDATE SET
                watermark = greatest(sync_state.watermark, EXCLUDED.watermark),
                last_reconciled_at = greatest(sync_state.last_reconciled_at, EXCLUDED.last_reconciled_at),
                updated_at = now()
        """),
        {"c": company_id, "stream": stream, "w": watermark, "r": reconciled_at},
    )


def changed_after_value(watermark: datetime, tz: tzinfo, overlap: timedelta) -> datetime:
    """The offset-less `changed_after` to send for a watermark, early enough under either reading.

    The API documents `changed_after` as `2016-02-23T12:00:00` (yclientsru.apib:5434, 5450; goods
    transactions `2000-01-01T00:00:00`, :16065) without saying in which zone it is read, nor whether an
    offset is accepted. UNCERTAIN, hence: the earlier of the watermark's wall clock in UTC and in the
    company's zone, minus the overlap. Whichever reading the server uses, the instant it filters from is at
    or before `watermark − overlap`; the price is over-fetching by the zone's offset, which the idempotent
    merge absorbs.
    """
    utc_wall = watermark.astimezone(UTC).replace(tzinfo=None)
    local_wall = watermark.astimezone(tz).replace(tzinfo=None)
    return (min(utc_wall, local_wall) - overlap).replace(microsecond=0)
