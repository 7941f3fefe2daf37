"""One round of webhook work, shared by the sensor and `ycpipeline webhook drain`: settle the batches
whose runs ended, claim ready events, set aside what needs no run, and say what the next run covers.

Orchestrator-agnostic: how a batch's run is found and launched is the caller's (Dagster) business.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from sqlalchemy import Engine

from ycpipeline.normalize.records import visit_date
from ycpipeline.webhooks import queue
from ycpipeline.webhooks.events import SYNCED_RESOURCES

log = logging.getLogger(__name__)

BATCH_LIMIT = 5_000  # events claimed per round: a tick stays well inside Dagster's 60 s
SETTLE_LIMIT = 100  # batches settled per round
PRUNE_LIMIT = 10_000  # rows pruned per round
# Batches (one per company) started per round: a tick stays short; the rest wait for the next.
COMPANIES_PER_ROUND = 50
# Events that change the catalogue: their batch's run refreshes services and staff as well.
CATALOG_RESOURCES = frozenset({"service", "service_category", "staff", "master"})
# A claimed batch whose run has not appeared after this long was never requested (the tick failed
# after claiming): its events go back to the queue.
CLAIM_TIMEOUT = timedelta(minutes=10)


@dataclass(frozen=True)
class RunOutcome:
    """Where a batch's run stands, and which companies' parts of it failed."""

    run_id: str
    state: Literal["running", "succeeded", "failed"]
    error: str | None = None
    failed_companies: dict[int, str] = field(default_factory=dict)
    # While running: since when (its start, or the failure its retry follows).
    since: datetime | None = None


RunLookup = Callable[[str], RunOutcome | None]


@dataclass
class SettleCounts:
    """What settling did to events."""

    done: int = 0
    retried: int = 0
    failed: int = 0
    released: int = 0


@dataclass(frozen=True)
class Batch:
    """Claimed events that need a run: the companies to capture and the deleted records to re-read."""

    batch_id: str
    companies: tuple[int, ...]
    reread_record_ids: dict[int, list[int]]
    events: int
    ignored: int
    # Clients named by `client` events: re-read by id (yclients.clients).
    client_ids: dict[int, list[int]] = field(default_factory=dict)
    # True when an event changed the catalogue (services, staff): the run refreshes it too.
    catalog: bool = False


def settle(
    engine: Engine,
    lookup: RunLookup,
    *,
    max_attempts: int,
    run_bound: timedelta,
    now: datetime | None = None,
) -> SettleCounts:
    """Close the batches whose runs ended: done, back to pending (an attempt counted), or released.

    A run still running `run_bound` after it started counts as failed: whatever holds it, its events
    go back to the queue for a new run (a late success of the old one does no harm: runs are
    idempotent).
    """
    counts = SettleCounts()
    now = now or datetime.now(UTC)
    with engine.connect() as conn:
        batches = queue.open_batches(conn, SETTLE_LIMIT)
    for batch_id, claimed_at in batches:
        outcome = lookup(batch_id)
        with engine.begin() as conn:
            if outcome is None:
                if claimed_at < now - CLAIM_TIMEOUT:
                    counts.released += queue.unclaim(conn, batch_id)
                continue
            if outcome.state == "running":
                if outcome.since is None or outcome.since >= now - run_bound:
                    continue
                minutes = int((now - outcome.since).total_seconds() // 60)
                reason = f"run {outcome.run_id} still not ended after {minutes} minutes: released"
                retried, failed = queue.retry_later(conn, batch_id, outcome.run_id, reason, max_attempts)
            elif outcome.state == "failed":
                reason = f"run {outcome.run_id} failed: {outcome.error or 'see the run in Dagster'}"
                retried, failed = queue.retry_later(conn, batch_id, outcome.run_id, reason, max_attempts)
            else:
                counts.done += queue.mark_done(conn, batch_id, outcome.run_id, list(outcome.failed_companies))
                reasons = {
                    c: f"company {c} failed in run {outcome.run_id}: {m}"
                    for c, m in outcome.failed_companies.items()
                }
                retried, failed = queue.retry_later(conn, batch_id, outcome.run_id, reasons, max_attempts)
            counts.retried += retried
            counts.failed += failed
            if failed:
                log.warning("%d webhook events of batch %s failed %d times", failed, batch_id, max_attempts)
    return counts


def ignore_reason(event: queue.QueuedEvent, companies: Collection[int], records_start: date) -> str | None:
    """Why an event needs no run, or None when it does."""
    if event.company_id not in companies:
        return f"company {event.company_id} is not tracked (ycpipeline companies add {event.company_id})"
    if event.resource not in SYNCED_RESOURCES:
        return f"resource {event.resource!r} is not synced"
    if event.resource == "record":
        data = event.body.get("data")
        # The company's zone is not known here: the written date is the visit's own local date.
        day = visit_date(data, None) if isinstance(data, dict) else None
        if day is not None and day < records_start:
            return f"visit date {day} is before RECORDS_START_DATE {records_start}"
    return None


def claim_batch(
    engine: Engine,
    companies: Collection[int],
    records_start: date,
    *,
    ready_by: datetime | None,
    exclude: Collection[int] = (),
    limit: int = BATCH_LIMIT,
    company_id: int | None = None,
) -> tuple[Batch | None, list[int]]:
    """Claim ready events (of `company_id` only, when given; never of a company whose batch is still
    open); mark the ones that need no run `ignored`. Returns the batch that needs a run (None when
    nothing does) and the ids of every event claimed."""
    batch_id = f"webhooks-{uuid.uuid4().hex}"
    with engine.begin() as conn:
        events = queue.claim(conn, batch_id, limit, ready_by=ready_by, exclude=exclude, company_id=company_id)
        reasons = {e.id: r for e in events if (r := ignore_reason(e, companies, records_start)) is not None}
        queue.ignore(conn, reasons)
    wanted = [e for e in events if e.id not in reasons]
    if not wanted:
        return None, [e.id for e in events]
    reread: dict[int, set[int]] = defaultdict(set)
    named_clients: dict[int, set[int]] = defaultdict(set)
    for event in wanted:
        if event.resource == "record" and event.action == "delete":
            reread[event.company_id].add(event.resource_id)
        elif event.resource == "client":
            named_clients[event.company_id].add(event.resource_id)
    batch = Batch(
        batch_id,
        tuple(sorted({e.company_id for e in wanted})),
        {c: sorted(ids) for c, ids in reread.items()},
        len(wanted),
        len(reasons),
        {c: sorted(ids) for c, ids in named_clients.items()},
        catalog=any(e.resource in CATALOG_RESOURCES for e in wanted),
    )
    return batch, [e.id for e in events]


def ready_companies(
    engine: Engine, ready_by: datetime | None, limit: int = COMPANIES_PER_ROUND, exclude: Collection[int] = ()
) -> list[int]:
    """Companies with events ready for a batch (none of their batches open; events in `exclude` aside),
    the longest waiting first."""
    with engine.connect() as conn:
        return queue.ready_companies(conn, ready_by, limit, exclude)


def prune(engine: Engine, retention_days: int) -> int:
    """Delete old `done`/`ignored` events, a bounded number per call."""
    with engine.begin() as conn:
        return queue.prune(conn, timedelta(days=retention_days), PRUNE_LIMIT)


def release_if_orphaned(engine: Engine, batch_id: str, lookup: RunLookup) -> int:
    """Release a batch at once when its run was never created (an in-process launch that failed early)."""
    if lookup(batch_id) is not None:
        return 0
    with engine.begin() as conn:
        return queue.unclaim(conn, batch_id)
