"""What a freshness tick runs: change capture for every company, and reconciliation where it is due.

One planning function serves the 30-minute schedules (which request the runs) and `ycpipeline sync`
without dates (which executes them in-process), so both do exactly the same.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Literal
from zoneinfo import ZoneInfo

import dagster as dg
from sqlalchemy import Engine

from ycpipeline.defs.bookings.assets import RECONCILE_TAG
from ycpipeline.defs.freshness.resources import FreshnessResource
from ycpipeline.defs.partitions import partition_key, range_tags
from ycpipeline.settings import load_settings
from ycpipeline.sync.changes import SyncState, read_states
from ycpipeline.sync.companies import stored_zone

# Run tags shared by the schedules, the sensor and the CLI.
TRIGGER_TAG = "ycpipeline/trigger"
CHANGES_JOB = "changes_job"
RECONCILE_JOB = "sync_job"
CHANGES_ASSET = "yclients_record_changes"
CLIENT_CHANGES_ASSET = "yclients_client_changes"


def tick_skip_reason() -> str | None:
    """Why the schedules and the sensor skip a tick (read at tick time), or None when they run: the
    master switch is off, or a setting a sync needs is missing (instead of failing every tick)."""
    settings = load_settings()
    if not settings.yclients_enabled:
        return "YCLIENTS_ENABLED is false"
    missing = settings.missing_for_sync()
    if missing:
        return (
            f"not configured: {', '.join(missing)} not set (see .env.example, or run `make ui` for the demo)"
        )
    return None


@dataclass(frozen=True)
class PlannedRun:
    """One run of a tick: which job, for which companies, with which tags and run config."""

    kind: Literal["changes", "reconcile"]
    job_name: str
    companies: tuple[int, ...]
    tags: Mapping[str, str]
    run_config: Mapping[str, Any] = field(default_factory=dict)

    def run_request(self, run_key: str | None = None) -> dg.RunRequest:
        """The run as a Dagster run request."""
        return dg.RunRequest(
            run_key=run_key, job_name=self.job_name, tags=dict(self.tags), run_config=dict(self.run_config)
        )


def changes_run(
    companies: Sequence[int] | None,
    trigger: str,
    reread_record_ids: Mapping[int, Collection[int]] | None = None,
    extra_tags: Mapping[str, str] | None = None,
    client_ids: Mapping[int, Collection[int]] | None = None,
) -> PlannedRun:
    """A change-capture run (catalogue, changes, ledger, marts) for `companies` (None: every configured
    one); `client_ids` are re-read by id (the `client` webhooks)."""
    config: dict[str, Any] = {
        "companies": None if companies is None else sorted(companies),
        "reread_record_ids": {str(c): sorted(ids) for c, ids in (reread_record_ids or {}).items() if ids},
    }
    ops: dict[str, Any] = {CHANGES_ASSET: {"config": config}}
    named = {str(c): sorted(ids) for c, ids in (client_ids or {}).items() if ids}
    if named:
        ops[CLIENT_CHANGES_ASSET] = {"config": {"client_ids": named}}
    return PlannedRun(
        "changes",
        CHANGES_JOB,
        tuple(sorted(companies or ())),
        {TRIGGER_TAG: trigger, **(extra_tags or {})},
        {"ops": ops},
    )


def reconcile_window(today: date, freshness: FreshnessResource) -> tuple[date, date]:
    """The visit dates a reconciliation re-reads: RECONCILE_DAYS_BACK back to SYNC_DAYS_AHEAD ahead."""
    start = max(
        today - timedelta(days=freshness.reconcile_days_back),
        freshness.change_policy().records_start,
    )
    return start, today + timedelta(days=freshness.sync_days_ahead)


def reconcile_run(company_id: int, today: date, freshness: FreshnessResource, trigger: str) -> PlannedRun:
    """The window refresh (`sync_job` over a range of the company's partitions) that reconciles it."""
    start, end = reconcile_window(today, freshness)
    tags = {
        TRIGGER_TAG: trigger,
        RECONCILE_TAG: str(company_id),
        **range_tags(partition_key(company_id, start), partition_key(company_id, end)),
    }
    return PlannedRun("reconcile", RECONCILE_JOB, (company_id,), tags)


def due_for_reconciliation(
    states: Mapping[int, SyncState], companies: Sequence[int], now: datetime, every: timedelta
) -> list[int]:
    """Companies whose last reconciliation is older than `every`.

    A company without a watermark is not due: its first change-capture pass is a full load that counts
    as a reconciliation.
    """
    due = []
    for company_id in companies:
        state = states.get(company_id)
        if state is None or state.watermark is None:
            continue
        if state.last_reconciled_at is None or state.last_reconciled_at <= now - every:
            due.append(company_id)
    return due


def plan_tick(
    engine: Engine,
    companies: Sequence[int],
    freshness: FreshnessResource,
    now: datetime,
    fallback_zone: str,
    trigger: str,
) -> list[PlannedRun]:
    """The tick: one change-capture run for every company, then a reconciliation per company due."""
    with engine.connect() as conn:
        states = read_states(conn, companies)
        due = due_for_reconciliation(states, companies, now, timedelta(hours=freshness.reconcile_every_hours))
        zones: dict[int, tzinfo] = {
            c: stored_zone(conn, c, max_age=None) or ZoneInfo(fallback_zone) for c in due
        }
    runs = [changes_run(companies, trigger)]
    runs.extend(reconcile_run(c, now.astimezone(zones[c]).date(), freshness, trigger) for c in due)
    return runs
