"""Incidents the warehouse shows: a webhook queue that does not drain, an API budget paused too long."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import Connection

from ycpipeline.alerts.messages import Alert, first_line
from ycpipeline.client.usage import paused_budgets
from ycpipeline.webhooks.backlog import company_backlogs


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


def queue_incidents(conn: Connection, pending_bound: timedelta) -> dict[str, Alert]:
    """Per company: events pending longer than `pending_bound`, and failed events."""
    found: dict[str, Alert] = {}
    for backlog in company_backlogs(conn):
        company = backlog.company_id
        if backlog.pending and backlog.oldest_pending_seconds > pending_bound.total_seconds():
            found[f"webhook-pending:{company}"] = Alert(
                severity="warning",
                title=f"Webhook events stuck for company {company}",
                text=(
                    f"{backlog.pending} webhook events of company {company} are pending, the oldest for "
                    f"{_minutes(backlog.oldest_pending_seconds)} (bound ALERTS_WEBHOOK_PENDING_MINUTES="
                    f"{pending_bound.total_seconds() / 60:g}). What to do: check that dagster-daemon runs "
                    "and the sensor yclients_webhook_sensor is on, and look for failed changes_job runs; "
                    "`ycpipeline webhook drain` processes them by hand."
                ),
                company_id=company,
            )
        if backlog.failed:
            found[f"webhook-failed:{company}"] = Alert(
                severity="warning",
                title=f"Webhook events failed for company {company}",
                text=(
                    f"{backlog.failed} webhook events of company {company} failed after every attempt. "
                    f"First error: {first_line(backlog.last_failure)} What to do: fix the cause named "
                    "above (yclients.webhook_events.reason); failed events are retried every six hours, "
                    "or at once by `ycpipeline webhook drain`."
                ),
                company_id=company,
            )
    return found


def budget_incidents(
    conn: Connection, paused_since: Mapping[str, str], now: datetime, bound: timedelta
) -> tuple[dict[str, Alert], dict[str, str]]:
    """Budgets paused by 429s for longer than `bound`, and when each paused budget was first seen paused.

    `paused_since` is the previous answer (ISO times): a budget stays "paused since" its first sighting
    for as long as every look finds it paused.
    """
    paused = paused_budgets(conn)
    since = {key: paused_since.get(key, now.isoformat()) for key in paused}
    found: dict[str, Alert] = {}
    for key, first_seen in since.items():
        lasted = (now - datetime.fromisoformat(first_seen)).total_seconds()
        if lasted >= bound.total_seconds():
            found[f"budget-paused:{key}"] = Alert(
                severity="warning",
                title=f"YClients API budget paused by HTTP 429 ({key})",
                text=(
                    f"The shared API budget {key} has been paused by HTTP 429 answers for "
                    f"{_minutes(lasted)} (bound ALERTS_BUDGET_PAUSED_MINUTES={bound.total_seconds() / 60:g}); "
                    "runs wait and fall behind. What to do: something else may be spending this IP's "
                    "budget (another integration behind the same address), or "
                    "YCLIENTS_RATE_LIMIT_PER_SECOND / _PER_MINUTE are above what the API allows."
                ),
            )
    return found, since
