"""Full refresh of the records of one company over a window of visit dates.

One transaction per call: the window is either refreshed completely or left as it was, so a run that
fails (a rejected token, say) leaves its partitions re-runnable. Pages stream into a staging table in
bounded chunks, so memory does not grow with the window.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from sqlalchemy import Connection, Engine, text

from ycpipeline.client import YClientsClient
from ycpipeline.client.errors import ApiResponseError
from ycpipeline.normalize.records import record_row
from ycpipeline.sync.audit import log_sync, store_rejected
from ycpipeline.validation.models import RECORD_CHECKED_COLUMNS, RecordRow
from ycpipeline.validation.quarantine import Rejected, validate_rows
from ycpipeline.warehouse.schema import record_services, records
from ycpipeline.warehouse.upsert import MergeCounts, copy_rows, create_stage, merge_stage

log = logging.getLogger(__name__)

RECORD_COLUMNS = [c.name for c in records.columns]
LINE_COLUMNS = [c.name for c in record_services.columns]
RECORD_COMPARE = [c for c in RECORD_COLUMNS if c not in ("company_id", "record_id", "synced_at")]
LINE_COMPARE = [c for c in LINE_COLUMNS if c not in ("company_id", "record_id", "service_id")]
MAX_PASSES = 3


class PageDriftError(ApiResponseError):
    """Paging kept seeing a different set of records than `total_count` announced."""


@dataclass
class RecordsResult:
    """What one records refresh did."""

    company_id: int
    start: date
    end: date
    counts: MergeCounts = field(default_factory=MergeCounts)
    deleted: int = 0
    moved_out: int = 0
    rejected: int = 0
    fetched: int = 0
    passes: int = 0

    def as_dict(self) -> dict[str, int]:
        """Counts for metadata and the sync log."""
        return {
            "fetched": self.fetched,
            "created": self.counts.created,
            "updated": self.counts.updated,
            "unchanged": self.counts.unchanged,
            "deleted": self.deleted,
            "moved_out": self.moved_out,
            "rejected": self.rejected,
            "passes": self.passes,
        }


class _Stager:
    """Normalises, validates and COPYs records into the staging tables, chunk by chunk."""

    def __init__(self, conn: Connection, company_id: int, tz: tzinfo, synced_at: datetime) -> None:
        self.conn = conn
        self.company_id = company_id
        self.tz = tz
        self.synced_at = synced_at
        self.records_stage = create_stage(conn, records)
        self.lines_stage = create_stage(conn, record_services)
        self.rejected: list[Rejected] = []

    def stage(self, raw_records: list[Any]) -> int:
        rows, lines_of = [], []
        for raw in raw_records:
            row, lines = record_row(raw, self.company_id, self.tz, self.synced_at)
            row["lines_ok"] = lines is not None and all(ln["cost"] >= 0 and ln["amount"] >= 1 for ln in lines)
            rows.append(row)
            lines_of.append(lines or [])
        outcome = validate_rows(
            rows, RecordRow, entity="records", key="record_id", columns=RECORD_CHECKED_COLUMNS
        )
        self.rejected.extend(outcome.rejected)
        valid = outcome.valid_positions
        copy_rows(
            self.conn,
            self.records_stage,
            RECORD_COLUMNS,
            ([rows[i][c] for c in RECORD_COLUMNS] for i in valid),
        )
        copy_rows(
            self.conn,
            self.lines_stage,
            LINE_COLUMNS,
            ([line[c] for c in LINE_COLUMNS] for i in valid for line in lines_of[i]),
        )
        return len(valid)

    def reset(self) -> None:
        self.conn.execute(text(f"TRUNCATE {self.records_stage}, {self.lines_stage}"))
        self.rejected.clear()


def _extract(
    client: YClientsClient,
    stager: _Stager,
    company_id: int,
    start: date,
    end: date,
    chunk_pages: int,
    extra_params: dict[str, Any] | None = None,
) -> tuple[int, int]:
    """Stream every page of the window into the stage; returns (objects fetched, passes needed).

    Paging is not documented as stable while records change: when the records seen disagree with
    `total_count`, or `total_count` moved while paging, the window is read again.
    """
    for attempt in range(1, MAX_PASSES + 1):
        fetched, totals, buffer = 0, set(), []
        for page in client.iter_record_pages(company_id, start, end, extra_params=extra_params):
            totals.add(page.total_count)
            buffer.extend(page.records)
            fetched += len(page.records)
            if len(buffer) >= chunk_pages * client.page_size:
                stager.stage(buffer)
                buffer = []
        if buffer:
            stager.stage(buffer)
        # Consistent when total_count held still and every announced object arrived (an id the API lists
        # twice is merged by the load, not re-read).
        if totals == {None} or totals == {fetched}:
            return fetched, attempt
        log.warning(
            "records of company %s changed while paging (received %s, total_count %s): reading again",
            company_id,
            fetched,
            sorted(t for t in totals if t is not None),
        )
        stager.reset()
    raise PageDriftError(
        f"records of company {company_id} for {start}..{end} kept changing while paging ({MAX_PASSES} passes); "
        "run again later"
    )


def lock_company_records(conn: Connection, company_id: int) -> None:
    """Take the company's records lock for the rest of the transaction (every records load holds it).

    Overlapping loads of one company (schedule, sensor, manual) take turns; the second sees the first's
    result. Taken before the first request, so two loads never interleave fetch and merge.
    """
    conn.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended('ycpipeline.records:' || :c, 0))"),
        {"c": str(company_id)},
    )
    # The merge sorts the staged rows once: let it do so in memory.
    conn.execute(text("SET LOCAL work_mem = '64MB'"))


def merge_staged(conn: Connection, stager: _Stager) -> MergeCounts:
    """Upsert the staged records by key (a moved record is updated in place) and their service lines."""
    counts = merge_stage(
        conn, records, stager.records_stage, keys=["company_id", "record_id"], compare=RECORD_COMPARE
    )
    _replace_lines(conn, stager)
    return counts


def sync_records(
    client: YClientsClient,
    engine: Engine,
    company_id: int,
    tz: tzinfo,
    start: date,
    end: date,
    *,
    run_id: str | None = None,
    chunk_pages: int = 50,
) -> RecordsResult:
    """Refresh `yclients.records`/`record_services` for visit dates in [start, end] of one company.

    Records the API returns are upserted; warehouse records of those dates that it no longer returns are
    re-read by id: a moved record is updated in place with its new date, a vanished one marked deleted.
    """
    with engine.begin() as conn:
        lock_company_records(conn, company_id)
        return refresh_window(
            conn, client, company_id, tz, start, end, run_id=run_id, chunk_pages=chunk_pages
        )


def refresh_window(
    conn: Connection,
    client: YClientsClient,
    company_id: int,
    tz: tzinfo,
    start: date,
    end: date,
    *,
    run_id: str | None = None,
    chunk_pages: int = 50,
    before_merge: Callable[[Connection, _Stager], None] | None = None,
) -> RecordsResult:
    """`sync_records` inside the caller's transaction, which holds `lock_company_records` already.

    `before_merge` sees the complete stage just before it is merged (to count what will change).
    """
    result = RecordsResult(company_id, start, end)
    synced_at = datetime.now(UTC)
    stager = _Stager(conn, company_id, tz, synced_at)
    result.fetched, result.passes = _extract(client, stager, company_id, start, end, chunk_pages)
    rejected_ids = [int(r.source_key) for r in stager.rejected if r.source_key and r.source_key.isdigit()]
    vanished = (
        conn.execute(
            text(f"""
            SELECT record_id FROM yclients.records r
            WHERE r.company_id = :c AND r.visit_date BETWEEN :s AND :e AND NOT r.deleted
              AND NOT EXISTS (SELECT 1 FROM {stager.records_stage} s WHERE s.record_id = r.record_id)
              AND NOT (r.record_id = ANY(:rejected))
        """),
            {"c": company_id, "s": start, "e": end, "rejected": rejected_ids},
        )
        .scalars()
        .all()
    )
    gone: list[int] = []
    reread: list[Any] = []
    for record_id in vanished:
        fresh = client.get_record(company_id, record_id)
        if fresh is None:
            gone.append(record_id)
        else:
            reread.append(fresh)
    if reread:
        stager.stage(reread)
    if before_merge is not None:
        before_merge(conn, stager)
    result.counts = merge_staged(conn, stager)
    result.deleted = conn.execute(
        text("""
            UPDATE yclients.records SET deleted = true, synced_at = :now
            WHERE company_id = :c AND record_id = ANY(:ids) AND NOT deleted
        """),
        {"now": synced_at, "c": company_id, "ids": gone},
    ).rowcount
    result.moved_out = conn.execute(
        text(f"""
            SELECT count(*) FROM {stager.records_stage}
            WHERE record_id = ANY(:ids) AND visit_date NOT BETWEEN :s AND :e
        """),
        {"ids": list(vanished), "s": start, "e": end},
    ).scalar_one()
    result.rejected = store_rejected(conn, stager.rejected, run_id)
    log_sync(conn, "records", company_id, result.as_dict(), run_id, (start, end))
    return result


def _replace_lines(conn: Connection, stager: _Stager) -> None:
    """Make each staged record's service lines exactly the staged ones, rewriting only what changed."""
    merge_stage(
        conn,
        record_services,
        stager.lines_stage,
        keys=["company_id", "record_id", "service_id"],
        compare=LINE_COMPARE,
        also_set=(),
    )
    conn.execute(
        text(f"""
            DELETE FROM yclients.record_services l
            USING (SELECT DISTINCT company_id, record_id FROM {stager.records_stage}) s
            WHERE l.company_id = s.company_id AND l.record_id = s.record_id
              AND NOT EXISTS (SELECT 1 FROM {stager.lines_stage} n
                              WHERE n.company_id = l.company_id AND n.record_id = l.record_id
                                AND n.service_id = l.service_id)
        """)
    )
