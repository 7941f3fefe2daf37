"""The webhook queue in `yclients.webhook_events`: every statement that reads or moves an event.

An event is `pending` from the moment the receiver commits it until a run that covers it succeeds
(`done`), or it is `ignored` (with the reason). A claimed event carries its batch id until its run
settles; a failed run puts it back to `pending` with a backoff, and after `max_attempts` it is `failed`
(still retried, less often, and visible). Claims take `FOR UPDATE SKIP LOCKED`, so several sensors,
drains and receivers can work on one queue.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, text

from ycpipeline.webhooks.events import ParsedBody

READY = "status IN ('pending', 'failed') AND batch_id IS NULL"
CLAIMED = "status IN ('pending', 'failed') AND batch_id = :batch"
# Waits before a failed event is tried again: doubling from a minute up to an hour while attempts
# remain, then every six hours once it is `failed`.
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=1)
FAILED_RETRY = timedelta(hours=6)


@dataclass(frozen=True)
class QueuedEvent:
    """A claimed event, as the planner needs it."""

    id: int
    company_id: int
    resource: str
    resource_id: int
    action: str
    body: dict[str, Any]
    attempts: int


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def enqueue(conn: Connection, parsed: ParsedBody) -> None:
    """Insert a request's accepted events and its refused ones (into `yclients.rejected_rows`)."""
    if parsed.accepted:
        conn.execute(
            text("""
                INSERT INTO yclients.webhook_events
                    (company_id, resource, resource_id, action, status, reason, body, body_hash, processed_at)
                VALUES (:company_id, :resource, :resource_id, :action, :status, :reason, CAST(:body AS jsonb),
                        :body_hash, CASE WHEN :status = 'ignored' THEN now() END)
            """),
            [
                {
                    "company_id": e.company_id,
                    "resource": e.resource,
                    "resource_id": e.resource_id,
                    "action": e.action,
                    "status": e.status,
                    "reason": e.reason,
                    "body": _json(e.body),
                    "body_hash": e.body_hash,
                }
                for e in parsed.accepted
            ],
        )
    for refused in parsed.refused:
        dead_letter(
            conn, refused.reason, refused.body, company_id=refused.company_id, source_key=refused.source_key
        )


def dead_letter(
    conn: Connection, reason: str, raw: Any, *, company_id: int | None = None, source_key: str | None = None
) -> None:
    """Keep a refused body or event in `yclients.rejected_rows` (entity `webhook`) with the reason."""
    conn.execute(
        text("""
            INSERT INTO yclients.rejected_rows (entity, company_id, source_key, reasons, raw)
            VALUES ('webhook', :c, :k, CAST(:reasons AS jsonb), CAST(:raw AS jsonb))
        """),
        {"c": company_id, "k": source_key, "reasons": _json([reason]), "raw": _json(raw)},
    )


def claim(
    conn: Connection,
    batch_id: str,
    limit: int,
    *,
    ready_by: datetime | None,
    exclude: Collection[int] = (),
    company_id: int | None = None,
) -> list[QueuedEvent]:
    """Claim up to `limit` ready events (due by `ready_by`; None: whatever their backoff) for a batch:
    of `company_id` only when given, and never of a company whose previous batch is still open (its
    run queued or running): events arriving meanwhile wait for the next batch, so a company has at most
    one change-capture run from the queue at a time."""
    # Claims are serialised (the sensor, a drain): two could otherwise both see no open batch.
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('yclients.webhook_events claim'))"))
    rows = conn.execute(
        text(f"""
            UPDATE yclients.webhook_events e SET batch_id = :batch, claimed_at = clock_timestamp()
            WHERE e.id IN (
                SELECT id FROM yclients.webhook_events
                WHERE {READY}
                  AND (CAST(:ready_by AS timestamptz) IS NULL OR next_attempt_at <= CAST(:ready_by AS timestamptz))
                  AND NOT (id = ANY(CAST(:exclude AS bigint[])))
                  AND (CAST(:company AS bigint) IS NULL OR company_id = CAST(:company AS bigint))
                  AND company_id NOT IN (
                      SELECT o.company_id FROM yclients.webhook_events o
                      WHERE o.batch_id IS NOT NULL AND o.status IN ('pending', 'failed'))
                ORDER BY next_attempt_at, id
                LIMIT :limit
                FOR UPDATE SKIP LOCKED)
            RETURNING e.id, e.company_id, e.resource, e.resource_id, e.action, e.body, e.attempts
        """),
        {
            "batch": batch_id,
            "ready_by": ready_by,
            "exclude": list(exclude),
            "limit": limit,
            "company": company_id,
        },
    ).all()
    return sorted((QueuedEvent(*row) for row in rows), key=lambda e: e.id)


def ready_companies(
    conn: Connection, ready_by: datetime | None, limit: int, exclude: Collection[int] = ()
) -> list[int]:
    """Companies with ready events (due by `ready_by`; other than the `exclude`d event ids) and no open
    batch, the longest waiting first."""
    return list(
        conn.execute(
            text(f"""
                SELECT company_id FROM yclients.webhook_events e
                WHERE {READY}
                  AND (CAST(:ready_by AS timestamptz) IS NULL OR next_attempt_at <= CAST(:ready_by AS timestamptz))
                  AND NOT (id = ANY(CAST(:exclude AS bigint[])))
                  AND NOT EXISTS (
                      SELECT 1 FROM yclients.webhook_events o
                      WHERE o.company_id = e.company_id AND o.batch_id IS NOT NULL
                        AND o.status IN ('pending', 'failed'))
                GROUP BY company_id ORDER BY min(next_attempt_at), company_id LIMIT :limit
            """),
            {"ready_by": ready_by, "limit": limit, "exclude": list(exclude)},
        ).scalars()
    )


def ignore(conn: Connection, reasons: Mapping[int, str]) -> int:
    """Mark events `ignored` with their reasons (they need no run)."""
    if not reasons:
        return 0
    return conn.execute(
        text("""
            UPDATE yclients.webhook_events e
            SET status = 'ignored', reason = r.reason, processed_at = clock_timestamp()
            FROM unnest(CAST(:ids AS bigint[]), CAST(:reasons AS text[])) AS r(id, reason)
            WHERE e.id = r.id AND e.status IN ('pending', 'failed')
        """),
        {"ids": list(reasons), "reasons": list(reasons.values())},
    ).rowcount


def open_batches(conn: Connection, limit: int = 100) -> list[tuple[str, datetime]]:
    """Batches with events still waiting for their run: (batch id, when claimed), oldest first."""
    return [
        (row.batch_id, row.claimed_at)
        for row in conn.execute(
            text("""
                SELECT batch_id, min(claimed_at) AS claimed_at FROM yclients.webhook_events
                WHERE status IN ('pending', 'failed') AND batch_id IS NOT NULL
                GROUP BY batch_id ORDER BY 2 LIMIT :limit
            """),
            {"limit": limit},
        )
    ]


def mark_done(conn: Connection, batch_id: str, run_id: str, except_companies: Collection[int] = ()) -> int:
    """The batch's run succeeded: its events are `done` (except those of companies whose part failed)."""
    return conn.execute(
        text(f"""
            UPDATE yclients.webhook_events
            SET status = 'done', run_id = :run, reason = NULL, processed_at = clock_timestamp()
            WHERE {CLAIMED} AND NOT (company_id = ANY(CAST(:failed AS bigint[])))
        """),
        {"batch": batch_id, "run": run_id, "failed": list(except_companies)},
    ).rowcount


def retry_later(
    conn: Connection,
    batch_id: str,
    run_id: str | None,
    reasons: Mapping[int, str] | str,
    max_attempts: int,
) -> tuple[int, int]:
    """Put a batch's events back (all of them, or those of the companies in `reasons`), counting an
    attempt; returns (back to `pending`, now `failed`)."""
    if isinstance(reasons, str):
        companies: Sequence[int] | None = None
        texts: Sequence[str] = [reasons]
    else:
        companies, texts = list(reasons), [reasons[c] for c in reasons]
    rows = conn.execute(
        text("""
            WITH why AS (
                SELECT * FROM unnest(CAST(:companies AS bigint[]), CAST(:texts AS text[])) AS w(company_id, reason)
            )
            UPDATE yclients.webhook_events e SET
                attempts = e.attempts + 1,
                status = CASE WHEN e.attempts + 1 >= :max THEN 'failed' ELSE 'pending' END,
                reason = left(coalesce((SELECT w.reason FROM why w WHERE w.company_id = e.company_id),
                                       CAST(:all_reason AS text)), 2000),
                run_id = :run, batch_id = NULL, claimed_at = NULL,
                next_attempt_at = clock_timestamp() + CASE
                    WHEN e.attempts + 1 >= :max THEN CAST(:failed_wait AS interval)
                    ELSE least(CAST(:first AS interval) * power(2, e.attempts), CAST(:longest AS interval)) END
            WHERE e.status IN ('pending', 'failed') AND e.batch_id = :batch
              AND (CAST(:companies AS bigint[]) IS NULL OR e.company_id = ANY(CAST(:companies AS bigint[])))
            RETURNING e.status
        """),
        {
            "batch": batch_id,
            "run": run_id,
            "companies": None if companies is None else list(companies),
            "texts": list(texts) if companies is not None else [],
            "all_reason": texts[0] if companies is None else None,
            "max": max_attempts,
            "failed_wait": FAILED_RETRY,
            "first": FIRST_RETRY,
            "longest": LONGEST_RETRY,
        },
    ).scalars()
    statuses = list(rows)
    return statuses.count("pending"), statuses.count("failed")


def unclaim(conn: Connection, batch_id: str) -> int:
    """Release a batch whose run never appeared (the tick that claimed it did not commit its request)."""
    return conn.execute(
        text(f"UPDATE yclients.webhook_events SET batch_id = NULL, claimed_at = NULL WHERE {CLAIMED}"),
        {"batch": batch_id},
    ).rowcount


def prune(conn: Connection, older_than: timedelta, limit: int) -> int:
    """Delete up to `limit` `done`/`ignored` events processed more than `older_than` ago."""
    return conn.execute(
        text("""
            DELETE FROM yclients.webhook_events WHERE id IN (
                SELECT id FROM yclients.webhook_events
                WHERE status IN ('done', 'ignored') AND processed_at < clock_timestamp() - CAST(:age AS interval)
                ORDER BY processed_at LIMIT :limit)
        """),
        {"age": older_than, "limit": limit},
    ).rowcount


def counts_by_status(conn: Connection) -> dict[str, int]:
    """How many events each status holds."""
    found: dict[str, int] = {
        status: n
        for status, n in conn.execute(text("SELECT status, count(*) FROM yclients.webhook_events GROUP BY 1"))
    }
    return {s: int(found.get(s, 0)) for s in ("pending", "done", "ignored", "failed")}
