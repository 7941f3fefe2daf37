"""Change capture: one pass reads every record of a company changed since its durable watermark.

A pass, in one transaction under the company's records lock (the one every records load holds):
read the watermark W from `yclients.sync_state`; ask `GET /records/{company_id}` for what changed after
W (minus an overlap), deleted records included, whatever the visit date; upsert it through the shared
staging and merge (a moved record is updated in place by its key); re-read by id the records a caller
names (deletions reported by webhooks); then set the watermark to the pass's start time — in the same
transaction, so it advances only when the load commits. Re-reading what an earlier pass loaded changes
nothing (the merge rewrites only what differs), so over-fetching is harmless.

Without a watermark (a company's first pass) the pass is the initial full load of the history, from
RECORDS_START_DATE to as far ahead as change queries read.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Literal

from sqlalchemy import Connection, Engine, text

from ycpipeline.client import RecordFilters, YClientsClient
from ycpipeline.sync.audit import log_sync, store_rejected
from ycpipeline.sync.loader import note_drift
from ycpipeline.sync.records import (
    RECORD_COMPARE,
    RecordStager,
    extract_pages,
    lock_company_records,
    refresh_window,
)
from ycpipeline.sync.reread import reread_records
from ycpipeline.sync.state import SyncState, changed_after_value, write_state
from ycpipeline.sync.state import read_states as stream_states
from ycpipeline.validation.sqltypes import BIGINT_MAX

log = logging.getLogger(__name__)

STREAM = "records"
# Visit dates asked for when reading changes. The filter is there only because the API may apply a
# default date window when none is given (undocumented); changes to visits before RECORDS_START_DATE
# are still read, so that a stored record moved out of the history is not left stale.
VISIT_DATE_FLOOR = date(2000, 1, 1)


@dataclass(frozen=True)
class ChangePolicy:
    """The settings a pass follows."""

    records_start: date  # RECORDS_START_DATE: the first visit date of the history
    # CHANGES_DAYS_AHEAD: changes are read for visits up to this far ahead of today, and the first
    # (full) load reads as far: a booking beyond it that never changes again would otherwise be missed.
    horizon_days: int
    overlap: timedelta  # CHANGES_OVERLAP_MINUTES: how far before the watermark a pass reads again


@dataclass
class PartitionCounts:
    """What a pass did to one visit date of one company (a partition of `yclients_records`)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    moved_out: int = 0

    @property
    def touched(self) -> bool:
        """True when the partition's content changed."""
        return bool(self.created or self.updated or self.deleted or self.moved_out)

    def as_dict(self) -> dict[str, int]:
        """Counts for materialization metadata."""
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
            "moved_out": self.moved_out,
        }


@dataclass
class ChangesResult:
    """What one pass for one company did."""

    company_id: int
    mode: Literal["changes", "initial"]
    watermark: datetime | None  # where the pass left the watermark (None: a first load that set none)
    previous_watermark: datetime | None = None
    changed_after: str | None = None
    fetched: int = 0
    reread: int = 0
    outside_history: int = 0
    rejected: int = 0
    passes: int = 0
    # True when the pages kept changing while read (`records.extract_pages`'s drift): what came is loaded,
    # but the watermark stays where it was, so the next pass reads the same changes again.
    watermark_held: bool = False
    partitions: dict[date, PartitionCounts] = field(default_factory=lambda: defaultdict(PartitionCounts))

    def totals(self) -> PartitionCounts:
        """The partitions' counts added up (a moved record counts once as updated, once as moved out)."""
        total = PartitionCounts()
        for counts in self.partitions.values():
            for key, value in counts.as_dict().items():
                setattr(total, key, getattr(total, key) + value)
        return total

    def as_dict(self) -> dict[str, int]:
        """Counts for metadata, the sync log and the CLI summary."""
        return {
            "fetched": self.fetched,
            **self.totals().as_dict(),
            "reread": self.reread,
            "outside_history": self.outside_history,
            "rejected": self.rejected,
            "watermark_held": int(self.watermark_held),
            "partitions_touched": sum(c.touched for c in self.partitions.values()),
        }


def read_states(conn: Connection, company_ids: Iterable[int] | None = None) -> dict[int, SyncState]:
    """The records stream's state of the given companies (all when None) that have one."""
    return stream_states(conn, STREAM, company_ids)


def mark_reconciled(engine: Engine, company_id: int, at: datetime) -> None:
    """Record a finished reconciliation (a full re-read of the reconciliation window) of a company."""
    with engine.begin() as conn:
        write_state(conn, company_id, STREAM, reconciled_at=at)


class PartitionTally:
    """Counts, chunk by chunk before each merges, what a pass does to each visit date.

    With `history_start`, it also sets aside the records dated before the history that the warehouse
    does not hold (a record it holds is kept even when it moved there: updated in place, as a window
    refresh does, rather than left stale at its old date).
    """

    def __init__(self, result: ChangesResult, company_id: int, history_start: date | None = None) -> None:
        self.result = result
        self.company_id = company_id
        self.history_start = history_start
        self._pass: dict[date, PartitionCounts] = defaultdict(PartitionCounts)
        self._outside: set[int] = set()
        self.outside_ids: list[int] = []  # kept passes' records set aside as before the history

    def before_merge(self, conn: Connection, stager: RecordStager) -> None:
        """Set aside what is outside the history, then count what merging the chunk will do."""
        if self.history_start is not None:
            self._outside.update(self._set_outside_history_aside(conn, stager, self.history_start))
        self._count(conn, stager)

    def keep_pass(self) -> None:
        """Add the kept pass's counts to the result."""
        for day, counts in self._pass.items():
            into = self.result.partitions[day]
            for key, value in counts.as_dict().items():
                setattr(into, key, getattr(into, key) + value)
        self.outside_ids.extend(sorted(self._outside))
        self.result.outside_history = len(self.outside_ids)
        self.discard_pass()

    def discard_pass(self) -> None:
        """Forget the counts of a pass that is read again."""
        self._pass = defaultdict(PartitionCounts)
        self._outside = set()

    def _count(self, conn: Connection, stager: RecordStager) -> None:
        same = " AND ".join(f"t.{c} IS NOT DISTINCT FROM s.{c}" for c in RECORD_COMPARE)
        rows = conn.execute(
            text(f"""
                WITH s AS (SELECT DISTINCT ON (record_id) * FROM {stager.records_stage}
                           ORDER BY record_id, ctid DESC)
                SELECT s.visit_date AS day, t.visit_date AS old_day, t.record_id IS NULL AS created,
                       t.record_id IS NOT NULL AND ({same}) AS unchanged,
                       s.deleted AND NOT coalesce(t.deleted, false) AS deleted, count(*) AS n
                FROM s LEFT JOIN yclients.records t
                  ON t.company_id = s.company_id AND t.record_id = s.record_id
                GROUP BY 1, 2, 3, 4, 5
            """)
        ).all()
        for row in rows:
            counts = self._pass[row.day]
            if row.created:
                counts.created += row.n
            elif row.unchanged:
                counts.unchanged += row.n
            else:
                counts.updated += row.n
            if row.deleted and not row.created:
                counts.deleted += row.n
            if row.old_day is not None and row.old_day != row.day:
                self._pass[row.old_day].moved_out += row.n

    def _set_outside_history_aside(self, conn: Connection, stager: RecordStager, start: date) -> list[int]:
        ids = (
            conn.execute(
                text(f"""
                    DELETE FROM {stager.records_stage} s
                    WHERE s.visit_date < :start AND NOT EXISTS (
                        SELECT 1 FROM yclients.records r WHERE r.company_id = :c AND r.record_id = s.record_id)
                    RETURNING s.record_id
                """),
                {"start": start, "c": self.company_id},
            )
            .scalars()
            .all()
        )
        if ids:
            conn.execute(
                text(f"DELETE FROM {stager.lines_stage} WHERE record_id = ANY(:ids)"), {"ids": list(ids)}
            )
        return list(ids)


def _reread(
    conn: Connection,
    client: YClientsClient,
    stager: RecordStager,
    company_id: int,
    record_ids: Collection[int],
    synced_at: datetime,
    result: ChangesResult,
) -> None:
    """Read records by id (webhook deletions): stage the ones the API returns, mark the others deleted."""
    wanted = sorted({r for r in record_ids if 0 < r <= BIGINT_MAX})
    if not wanted:
        return
    # Records this pass has read already need no second request.
    staged = set(
        conn.execute(
            text(f"SELECT record_id FROM {stager.seen} WHERE record_id = ANY(:ids)"), {"ids": wanted}
        ).scalars()
    )
    reread = reread_records(client, company_id, [r for r in wanted if r not in staged])
    result.reread += reread.requests
    stager.rejected.extend(reread.refused)
    if reread.found:
        stager.stage(reread.found)
    gone = reread.gone
    if gone:
        days = conn.execute(
            text("""
                UPDATE yclients.records SET deleted = true, synced_at = :now
                WHERE company_id = :c AND record_id = ANY(:ids) AND NOT deleted
                RETURNING visit_date
            """),
            {"now": synced_at, "c": company_id, "ids": gone},
        ).scalars()
        for day in days:
            result.partitions[day].deleted += 1


def _changes_since(
    conn: Connection,
    client: YClientsClient,
    company_id: int,
    tz: tzinfo,
    policy: ChangePolicy,
    result: ChangesResult,
    today: date,
    reread_ids: Collection[int],
    run_id: str | None,
    chunk_pages: int,
) -> None:
    assert result.previous_watermark is not None
    synced_at = datetime.now(UTC)
    tally = PartitionTally(result, company_id, history_start=policy.records_start)
    stager = RecordStager(conn, company_id, tz, synced_at, tally)
    changed_after = changed_after_value(result.previous_watermark, tz, policy.overlap)
    result.changed_after = changed_after.isoformat()
    filters = RecordFilters.visit_window(
        VISIT_DATE_FLOOR,
        today + timedelta(days=policy.horizon_days),
        changed_after=changed_after,
        include_finance_transactions=True,  # payments ride on the same pages (yclientsru.apib:5453)
    )
    extracted = extract_pages(client, stager, company_id, filters, chunk_pages)
    result.fetched, result.passes = extracted.fetched, extracted.passes
    result.watermark_held = extracted.mismatch == "drift"
    _reread(conn, client, stager, company_id, reread_ids, synced_at, result)
    if tally.outside_ids:
        log.warning(
            "company %s: %d changed records are dated before RECORDS_START_DATE %s and were not stored: %s",
            company_id,
            len(tally.outside_ids),
            policy.records_start,
            tally.outside_ids[:20],
        )
    result.rejected = store_rejected(conn, stager.rejected, run_id)
    # Only what changed was read: it shows drift, but not that an earlier drift is gone.
    note_drift(conn, company_id, "records", stager.drift.drifts(), run_id, whole=False)
    log_sync(conn, "records", company_id, result.as_dict(), run_id)


def capture_changes(
    client: YClientsClient,
    engine: Engine,
    company_id: int,
    tz: tzinfo,
    policy: ChangePolicy,
    *,
    reread_ids: Collection[int] = (),
    run_id: str | None = None,
    chunk_pages: int = 50,
) -> ChangesResult:
    """One change-capture pass for one company (the initial full load when it has no watermark yet)."""
    with engine.begin() as conn:
        lock_company_records(conn, company_id)
        # The pass's start time, taken before the first request: every change the API committed before
        # it is in this pass's answer (the overlap covers clock skew and the API's late commits).
        started: datetime = conn.execute(text("SELECT clock_timestamp()")).scalar_one()
        today = started.astimezone(tz).date()
        state = read_states(conn, [company_id]).get(company_id)
        previous = state.watermark if state is not None else None
        if previous is None:
            result = ChangesResult(company_id, "initial", started)
            window = refresh_window(
                conn,
                client,
                company_id,
                tz,
                policy.records_start,
                today + timedelta(days=policy.horizon_days),
                run_id=run_id,
                chunk_pages=chunk_pages,
                observer=PartitionTally(result, company_id),
            )
            result.fetched, result.rejected, result.passes = window.fetched, window.rejected, window.passes
            result.watermark_held = window.count_mismatch == "drift"
            if not result.watermark_held:
                write_state(conn, company_id, STREAM, watermark=started, reconciled_at=started)
        else:
            result = ChangesResult(company_id, "changes", started, previous_watermark=previous)
            _changes_since(
                conn, client, company_id, tz, policy, result, today, reread_ids, run_id, chunk_pages
            )
            if not result.watermark_held:
                write_state(conn, company_id, STREAM, watermark=started)
        if result.watermark_held:
            # A pass known to be inconsistent may have skipped a change: never move past it.
            result.watermark = previous
            log.warning(
                "company %s: the records kept changing while paging (%s passes); the watermark stays at %s",
                company_id,
                result.passes,
                previous,
            )
    return result
