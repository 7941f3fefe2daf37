"""Full refresh of the records of one company over a window of visit dates.

One transaction per call: the window is either refreshed completely or left as it was, so a run that
fails (a rejected token, say) leaves its partitions re-runnable. Pages stream into a staging table in
bounded chunks, each merged into the warehouse (inside the transaction) while the next pages are still
on their way: memory does not grow with the window, and the merging happens while the API budget makes
the requests wait instead of after the last page.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, NestedTransaction, text

from ycpipeline.client import RecordFilters, YClientsClient
from ycpipeline.client.paging import identity
from ycpipeline.normalize.records import record_row
from ycpipeline.sync.audit import log_sync, store_rejected
from ycpipeline.sync.declaration import FLAG, ID, LIST, OBJECT, TEXT
from ycpipeline.sync.loader import note_drift
from ycpipeline.sync.payments import PaymentsStage, without_payments
from ycpipeline.sync.reread import reread_records
from ycpipeline.sync.windows import reject_outside_window
from ycpipeline.validation.drift import DriftWatch
from ycpipeline.validation.models import RECORD_CHECKED_COLUMNS, RecordRow, service_line_problems
from ycpipeline.validation.quarantine import Rejected, rejected_ids, validate_rows
from ycpipeline.warehouse.schema import record_services, records
from ycpipeline.warehouse.upsert import MergeCounts, copy_rows, create_stage, merge_stage

log = logging.getLogger(__name__)

RECORD_COLUMNS = [c.name for c in records.columns]
LINE_COLUMNS = [c.name for c in record_services.columns]
RECORD_COMPARE = [c for c in RECORD_COLUMNS if c not in ("company_id", "record_id", "synced_at")]
LINE_COMPARE = [c for c in LINE_COLUMNS if c not in ("company_id", "record_id", "service_id")]
MAX_PASSES = 3

# The record's fields (yclientsru.apib:5466-5642): those every load reads, with their kinds, and the others
# the description or current answers carry (read when present, any kind): schema drift is judged by them.
RECORD_FIELDS = {
    "id": ID,
    "date": TEXT,
    "datetime": TEXT,
    "client": OBJECT,
    "services": LIST,
    "staff_id": ID,
    "attendance": ID,
    "deleted": FLAG,
    "comment": TEXT,
    "create_date": TEXT,
    "last_change_date": TEXT,
}
RECORD_DOCUMENTED = frozenset(
    {"company_id", "staff", "clients_count", "length", "seance_length", "online", "visit_attendance"}
    | {"visit_id", "confirmed", "paid_full", "payment_status", "prepaid", "prepaid_confirmed", "api_id"}
    | {"created_user_id", "master_request", "activity_id", "from_url", "record_labels", "documents"}
    | {"finance_transactions", "goods_transactions", "consumables", "custom_fields", "custom_color"}
    | {"custom_font_color", "email_now", "notified", "review_requested", "sms_before", "sms_now"}
    | {"sms_now_text", "bookform_id", "is_sale_bill_printed", "short_link", "record_from", "is_mobile"}
)


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
    # What the API's total_count announced, and how the records received disagreed with it, if they
    # did: "stable" (two passes saw the same records) or "drift" (they kept changing).
    api_total_count: int | None = None
    count_mismatch: str | None = None

    def as_dict(self) -> dict[str, int]:
        """Counts for metadata and the sync log."""
        return {
            "fetched": self.fetched,
            **self.counts.as_dict(),
            "deleted": self.deleted,
            "moved_out": self.moved_out,
            "rejected": self.rejected,
            "passes": self.passes,
        }


class MergeObserver(Protocol):
    """Sees each staged chunk just before it merges (change capture counts partitions, sets rows aside)."""

    def before_merge(self, conn: Connection, stager: RecordStager) -> None:
        """Called with the chunk in `stager.records_stage` / `lines_stage`, not merged yet."""

    def keep_pass(self) -> None:
        """The pass whose chunks were seen is kept."""

    def discard_pass(self) -> None:
        """The pass whose chunks were seen was undone (it is read again)."""


class RecordStager:
    """Normalises, validates and COPYs records into the staging tables and merges them, chunk by chunk.

    Each pass over the window runs in a savepoint, so a pass that has to be read again is undone whole.
    """

    def __init__(
        self,
        conn: Connection,
        company_id: int,
        tz: tzinfo,
        synced_at: datetime,
        observer: MergeObserver | None = None,
    ) -> None:
        self.conn = conn
        self.observer = observer
        self.company_id = company_id
        self.tz = tz
        self.synced_at = synced_at
        self.records_stage = create_stage(conn, records)
        self.lines_stage = create_stage(conn, record_services)
        # Every record id merged in this pass: what the window holds that the API did not list vanished.
        self.seen = f"{self.records_stage}_seen"
        conn.execute(text(f"CREATE TEMP TABLE {self.seen} (record_id bigint PRIMARY KEY) ON COMMIT DROP"))
        self.payments = PaymentsStage(conn, company_id, tz, synced_at)
        self.rejected: list[Rejected] = []
        self.counts = MergeCounts()
        self.drift = DriftWatch("records", RECORD_FIELDS, RECORD_DOCUMENTED)
        self._pass: NestedTransaction | None = None

    def stage(self, raw_records: list[Any], window: tuple[date, date] | None = None) -> int:
        """Stage the valid records of `raw_records` with their lines; keep the rest as rejected.

        `window`: the visit dates the listing was asked for; a record dated outside it is quarantined
        (`sync.windows`). Records read by id carry no window: they may have moved anywhere.
        """
        self.drift.see(raw_records)
        rows, lines_of = [], []
        for raw in raw_records:
            row, lines = record_row(without_payments(raw), self.company_id, self.tz, self.synced_at)
            if lines:
                row["problems"].extend(service_line_problems(lines))
            rows.append(row)
            lines_of.append(lines or [])
        if window is not None:
            reject_outside_window(rows, "visit_date", *window)
        # Every value is checked against its column's type: one bad record must not fail the COPY.
        outcome = validate_rows(
            rows,
            RecordRow,
            entity="records",
            key="record_id",
            columns=RECORD_CHECKED_COLUMNS,
            table=records,
        )
        self.rejected.extend(outcome.rejected)
        valid = outcome.valid_positions
        # A quarantined record keeps its stored payments as it keeps its stored row.
        self.rejected.extend(self.payments.add([raw_records[i] for i in valid]))
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
        self._merge()
        return len(valid)

    def _merge(self) -> None:
        if self.observer is not None:
            self.observer.before_merge(self.conn, self)
        self.counts += merge_stage(
            self.conn, records, self.records_stage, keys=["company_id", "record_id"], compare=RECORD_COMPARE
        )
        _replace_lines(self.conn, self)
        self.payments.merge(self.rejected)
        self.conn.execute(
            text(f"INSERT INTO {self.seen} SELECT record_id FROM {self.records_stage} ON CONFLICT DO NOTHING")
        )
        self.conn.execute(text(f"TRUNCATE {self.records_stage}, {self.lines_stage}"))
        if self._pass is None and self.observer is not None:
            self.observer.keep_pass()  # a merge outside a pass (records re-read by id) is kept at once

    def begin_pass(self) -> None:
        """Start a pass over the window."""
        self._pass = self.conn.begin_nested()

    def keep_pass(self) -> None:
        """Keep what this pass merged."""
        assert self._pass is not None
        self._pass.commit()
        self._pass = None
        if self.observer is not None:
            self.observer.keep_pass()

    def reset(self) -> None:
        """Undo this pass: what it merged, the ids it saw, the rows it rejected."""
        assert self._pass is not None
        self._pass.rollback()
        self._pass = None
        self.counts = MergeCounts()
        self.rejected.clear()
        if self.observer is not None:
            self.observer.discard_pass()


@dataclass
class ExtractedPages:
    """What `extract_pages` staged: rows, passes over the pages, the announced total, why they disagreed."""

    fetched: int
    passes: int
    total_count: int | None
    mismatch: str | None


def extract_pages(
    client: YClientsClient, stager: RecordStager, company_id: int, filters: RecordFilters, chunk_pages: int
) -> ExtractedPages:
    """Stream every page matching `filters` into the stage.

    Paging is not documented as stable while records change, and what `total_count` counts is not
    documented at all (the only example announces 10 beside 2 records, yclientsru.apib:5466-5642).
    A pass is consistent when `total_count` held still and the **distinct** record ids received equal
    it: a record rescheduled while paging moves to a later page, so it arrives twice while the record
    pushed across the page boundary never arrives, and the rows received still add up to
    `total_count`. Otherwise the window is read again. Two passes that see the same ids and the same
    total are a stable mismatch: what came is loaded and the mismatch reported. Passes that keep
    differing are drift: after `MAX_PASSES` the last pass is loaded and the drift reported (change
    capture then keeps its watermark).
    """
    previous: tuple[frozenset[str], frozenset[int | None]] | None = None
    what = filters.describe()
    window = (filters.start_date or date.min, filters.end_date or date.max)
    for attempt in range(1, MAX_PASSES + 1):
        stager.begin_pass()
        fetched, buffer = 0, []
        totals: set[int | None] = set()
        seen: set[str] = set()
        for page in client.iter_record_pages(company_id, filters):
            totals.add(page.total_count)
            seen.update(identity(raw) for raw in page.items)
            buffer.extend(page.items)
            fetched += len(page.items)
            if len(buffer) >= chunk_pages * client.page_size:
                stager.stage(buffer, window)
                buffer = []
        if buffer:
            stager.stage(buffer, window)
        announced = max((t for t in totals if t is not None), default=None)
        # Consistent when total_count held still and every announced object arrived, counted by
        # distinct id (an id listed twice is merged by the load, and hides one that was skipped).
        if totals == {None} or totals == {len(seen)}:
            stager.keep_pass()
            return ExtractedPages(fetched, attempt, announced, None)
        this_pass = (frozenset(seen), frozenset(totals))
        if this_pass == previous and len(totals) == 1:
            log.warning(
                "records of company %s (%s): total_count %s but %s distinct records received, the same "
                "in two passes: loading what came",
                company_id,
                what,
                announced,
                len(seen),
            )
            stager.keep_pass()
            return ExtractedPages(fetched, attempt, announced, "stable")
        if attempt == MAX_PASSES:
            log.warning(
                "records of company %s (%s) kept changing while paging (%s passes): loading the last pass",
                company_id,
                what,
                MAX_PASSES,
            )
            stager.keep_pass()
            return ExtractedPages(fetched, attempt, announced, "drift")
        log.warning(
            "records of company %s disagree with total_count (%s distinct of %s rows received, "
            "total_count %s): reading again",
            company_id,
            len(seen),
            fetched,
            sorted(t for t in totals if t is not None),
        )
        previous = this_pass
        stager.reset()
    raise AssertionError("unreachable: the last pass always returns")


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
    observer: MergeObserver | None = None,
) -> RecordsResult:
    """`sync_records` inside the caller's transaction, which holds `lock_company_records` already.

    `observer` sees each chunk just before it merges (change capture counts what each partition gets).
    """
    result = RecordsResult(company_id, start, end)
    synced_at = datetime.now(UTC)
    stager = RecordStager(conn, company_id, tz, synced_at, observer)
    # The records' payments ride along (yclientsru.apib:5453): no request of their own.
    filters = RecordFilters.visit_window(start, end, include_finance_transactions=True)
    extracted = extract_pages(client, stager, company_id, filters, chunk_pages)
    result.fetched, result.passes = extracted.fetched, extracted.passes
    result.api_total_count, result.count_mismatch = extracted.total_count, extracted.mismatch
    quarantined = rejected_ids([r for r in stager.rejected if r.entity == "records"])
    vanished = (
        conn.execute(
            text(f"""
            SELECT record_id FROM yclients.records r
            WHERE r.company_id = :c AND r.visit_date BETWEEN :s AND :e AND NOT r.deleted
              AND NOT EXISTS (SELECT 1 FROM {stager.seen} s WHERE s.record_id = r.record_id)
              AND NOT (r.record_id = ANY(:rejected))
        """),
            {"c": company_id, "s": start, "e": end, "rejected": quarantined},
        )
        .scalars()
        .all()
    )
    # Gone only when the record itself is gone and the company still answers; a company-level
    # 404/403/402 raises, so the window is left as it was instead of marked deleted.
    reread = reread_records(client, company_id, vanished)
    stager.rejected.extend(reread.refused)
    if reread.found:
        stager.stage(reread.found)
    gone = reread.gone
    result.counts = stager.counts
    result.deleted = conn.execute(
        text("""
            UPDATE yclients.records SET deleted = true, synced_at = :now
            WHERE company_id = :c AND record_id = ANY(:ids) AND NOT deleted
        """),
        {"now": synced_at, "c": company_id, "ids": gone},
    ).rowcount
    result.moved_out = conn.execute(
        text("""
            SELECT count(*) FROM yclients.records
            WHERE company_id = :c AND record_id = ANY(:ids) AND visit_date NOT BETWEEN :s AND :e
        """),
        {"c": company_id, "ids": list(vanished), "s": start, "e": end},
    ).scalar_one()
    result.rejected = store_rejected(conn, stager.rejected, run_id)
    note_drift(conn, company_id, "records", stager.drift.drifts(), run_id, whole=result.fetched > 0)
    log_sync(conn, "records", company_id, result.as_dict(), run_id, (start, end))
    return result


def _replace_lines(conn: Connection, stager: RecordStager) -> None:
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
