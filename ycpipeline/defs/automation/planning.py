"""The runs the schedules, the webhook sensor and the CLI launch: change capture for a range of companies
(reconciling those due), and window refreshes; plus when a tick is skipped.

The same planning serves the 30-minute schedule (which requests the runs) and `ycpipeline sync`
(which executes them in-process), so both do exactly the same.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import dagster as dg

from ycpipeline.defs.automation.resources import FreshnessResource
from ycpipeline.defs.partitions import PARTITION_TAG, range_tags
from ycpipeline.settings import load_settings
from ycpipeline.sync.state import SyncState

# Run tags shared by the schedules, the sensor and the CLI.
TRIGGER_TAG = "ycpipeline/trigger"
CHANGES_JOB = "changes_job"
# The same with the catalogue first: a webhook batch with a `service` or `staff` event.
CHANGES_AND_CATALOG_JOB = "changes_and_catalog_job"
WINDOW_JOB = "sync_job"
RECORDS_ASSET = "yclients_records"
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
    """One run: which job, for which companies (a range of neighbouring partitions), its tags and config."""

    job_name: str
    companies: tuple[int, ...]
    tags: Mapping[str, str]
    run_config: Mapping[str, Any] = field(default_factory=dict)

    def run_request(self, run_key: str | None = None) -> dg.RunRequest:
        """The run as a Dagster run request."""
        return dg.RunRequest(
            run_key=run_key, job_name=self.job_name, tags=dict(self.tags), run_config=dict(self.run_config)
        )


def partition_tags(group: Sequence[int]) -> dict[str, str]:
    """The run tags that make a run cover `group`: its one partition, or the range from first to last
    (the companies must be neighbours in the partitions' order: `company_groups`)."""
    if len(group) == 1:
        return {PARTITION_TAG: str(group[0])}
    return range_tags(str(group[0]), str(group[-1]))


def changes_runs(
    groups: Sequence[Sequence[int]],
    trigger: str,
    reread_record_ids: Mapping[int, Collection[int]] | None = None,
    extra_tags: Mapping[str, str] | None = None,
    client_ids: Mapping[int, Collection[int]] | None = None,
) -> list[PlannedRun]:
    """Change-capture runs (records, clients named by webhooks, then the ledger and the marts), one per
    group of neighbouring companies (`company_groups`)."""
    records_config: dict[str, Any] = {
        "reread_record_ids": {str(c): sorted(ids) for c, ids in (reread_record_ids or {}).items() if ids},
    }
    ops: dict[str, Any] = {RECORDS_ASSET: {"config": records_config}}
    named = {str(c): sorted(ids) for c, ids in (client_ids or {}).items() if ids}
    if named:
        ops[CLIENT_CHANGES_ASSET] = {"config": {"ids": named}}
    return [
        PlannedRun(
            CHANGES_JOB,
            tuple(group),
            {TRIGGER_TAG: trigger, **(extra_tags or {}), **partition_tags(group)},
            {"ops": ops},
        )
        for group in groups
        if group
    ]


def window_runs(groups: Sequence[Sequence[int]], start: date, end: date, trigger: str) -> list[PlannedRun]:
    """Window refreshes (`sync_job`: catalogue, records of visit dates [start, end], ledger, marts), one
    per group of neighbouring companies."""
    config = {"window_start": start.isoformat(), "window_end": end.isoformat()}
    return [
        PlannedRun(
            WINDOW_JOB,
            tuple(group),
            {TRIGGER_TAG: trigger, **partition_tags(group)},
            {"ops": {RECORDS_ASSET: {"config": config}}},
        )
        for group in groups
        if group
    ]


def reconcile_window(today: date, freshness: FreshnessResource) -> tuple[date, date]:
    """The visit dates a reconciliation re-reads: RECONCILE_DAYS_BACK back to SYNC_DAYS_AHEAD ahead."""
    start = max(
        today - timedelta(days=freshness.reconcile_days_back),
        freshness.change_policy().records_start,
    )
    return start, today + timedelta(days=freshness.sync_days_ahead)


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
