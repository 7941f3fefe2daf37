"""The 30-minute schedules: change capture for every company each tick; reconciliation when it is due.

A schedule launches one job, so the tick is two schedules on one cron sharing one planning function
(`plan_tick`, which `ycpipeline sync` without dates executes in-process).
"""

from datetime import UTC, datetime

import dagster as dg

from ycpipeline.defs.bookings.assets import RECONCILE_TAG
from ycpipeline.defs.freshness.planning import TRIGGER_TAG, PlannedRun, plan_tick, tick_skip_reason
from ycpipeline.defs.freshness.resources import FreshnessResource
from ycpipeline.defs.jobs import changes_job, sync_job
from ycpipeline.defs.resources import WarehouseResource, YClientsResource
from ycpipeline.settings import load_settings

_settings = load_settings()
ACTIVE = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def _plan(
    context: dg.ScheduleEvaluationContext,
    warehouse: WarehouseResource,
    yclients: YClientsResource,
    freshness: FreshnessResource,
) -> list[PlannedRun]:
    return plan_tick(
        warehouse.engine(),
        yclients.companies(),
        freshness,
        context.scheduled_execution_time or datetime.now(UTC),
        _settings.yclients_partition_timezone,
        trigger="schedule",
    )


def _active(context: dg.ScheduleEvaluationContext, job_name: str, tags: dict[str, str]) -> str | None:
    records = context.instance.get_run_records(
        dg.RunsFilter(job_name=job_name, statuses=ACTIVE, tags=tags), limit=1
    )
    return records[0].dagster_run.run_id if records else None


@dg.schedule(
    name="yclients_sync_every_30_minutes",
    cron_schedule="*/30 * * * *",
    job=changes_job,
    execution_timezone=_settings.yclients_partition_timezone,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every 30 minutes: catalogue, change capture for every company (every record changed "
    "since its watermark, whatever the visit date), then the ledger. Skips a tick while the previous "
    "one still runs.",
)
def yclients_sync_every_30_minutes(
    context: dg.ScheduleEvaluationContext,
    warehouse: WarehouseResource,
    yclients: YClientsResource,
    freshness: FreshnessResource,
) -> dg.RunRequest | dg.SkipReason:
    """The tick's change-capture run, unless the previous tick's run is still going."""
    if reason := tick_skip_reason():
        return dg.SkipReason(reason)
    running = _active(context, changes_job.name, {TRIGGER_TAG: "schedule"})
    if running:
        return dg.SkipReason(f"run {running} of the previous tick is still going")
    run = next(r for r in _plan(context, warehouse, yclients, freshness) if r.kind == "changes")
    return run.run_request()


@dg.schedule(
    name="yclients_reconcile_when_due",
    cron_schedule="*/30 * * * *",
    job=sync_job,
    execution_timezone=_settings.yclients_partition_timezone,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every 30 minutes: for each company last reconciled more than RECONCILE_EVERY_HOURS ago, "
    "a full re-read of RECONCILE_DAYS_BACK days back to SYNC_DAYS_AHEAD ahead (catches what change "
    "capture cannot see, e.g. deletions that do not bump a record's change time).",
)
def yclients_reconcile_when_due(
    context: dg.ScheduleEvaluationContext,
    warehouse: WarehouseResource,
    yclients: YClientsResource,
    freshness: FreshnessResource,
) -> list[dg.RunRequest] | dg.SkipReason:
    """One window refresh per company due, unless its previous reconciliation is still going."""
    if reason := tick_skip_reason():
        return dg.SkipReason(reason)
    requests = [
        run.run_request(run_key=f"reconcile-{run.companies[0]}")
        for run in _plan(context, warehouse, yclients, freshness)
        if run.kind == "reconcile"
        and not _active(context, sync_job.name, {RECONCILE_TAG: str(run.companies[0])})
    ]
    return requests or dg.SkipReason("no company is due for reconciliation")
