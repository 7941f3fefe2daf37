"""How the webhook queue stands: the oldest pending event and each company's backlog (counts by status:
`ycpipeline.webhooks.queue.counts_by_status`).

Read by the alert sensor and the `/metrics` collector every few seconds, so each query is one pass over
the partial index of unsettled events plus a count by status.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text


@dataclass(frozen=True)
class CompanyBacklog:
    """One company's unsettled events: pending ones (with the oldest's age) and failed ones."""

    company_id: int
    pending: int
    oldest_pending_seconds: float
    failed: int
    last_failure: str | None


def oldest_pending_seconds(conn: Connection) -> float:
    """Age of the oldest pending event in seconds (0 when none is pending)."""
    age = conn.execute(
        text("""SELECT extract(epoch FROM now() - min(received_at)) FROM yclients.webhook_events
                WHERE status = 'pending'""")
    ).scalar()
    return float(age or 0.0)


def company_backlogs(conn: Connection) -> list[CompanyBacklog]:
    """Each company with pending or failed events."""
    rows = conn.execute(
        text("""
            SELECT company_id,
                   count(*) FILTER (WHERE status = 'pending') AS pending,
                   coalesce(extract(epoch FROM now() - min(received_at) FILTER (WHERE status = 'pending')), 0),
                   count(*) FILTER (WHERE status = 'failed') AS failed,
                   (array_agg(reason ORDER BY processed_at DESC NULLS LAST, id DESC)
                       FILTER (WHERE status = 'failed'))[1]
            FROM yclients.webhook_events
            WHERE status IN ('pending', 'failed')
            GROUP BY company_id
            ORDER BY company_id
        """)
    ).all()
    return [CompanyBacklog(int(c), int(p), float(age), int(f), reason) for c, p, age, f, reason in rows]
