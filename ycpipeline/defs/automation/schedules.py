"""The schedules: change capture for every company every 30 minutes (reconciling those due), and the
catalogue once a day."""

import dagster as dg

from ycpipeline.defs.automation.planning import TRIGGER_TAG, changes_runs, partition_tags, tick_skip_reason
from ycpipeline.defs.companies.tracked import partitions_in_step
from ycpipeline.defs.jobs import catalog_job, changes_job
from ycpipeline.defs.partitions import company_groups
from ycpipeline.defs.resources import WarehouseResource, YClientsResource
from ycpipeline.settings import load_settings

_settings = load_settings()
ACTIVE = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def active_run(instance: dg.DagsterInstance, job_name: str, tags: dict[str, str]) -> str | None:
    """The id of a queued or running run of `job_name` with `tags`, or None."""
    records = instance.get_run_records(dg.RunsFilter(job_name=job_name, statuses=ACTIVE, tags=tags), limit=1)
    return records[0].dagster_run.run_id if records else None


def groups_to_run(
    context: dg.ScheduleEvaluationContext, warehouse: WarehouseResource, yclients: YClientsResource
) -> list[list[int]] | dg.SkipReason:
    """The tracked salons in groups of neighbouring partitions, one run each, or why the tick is skipped."""
    if reason := tick_skip_reason():
        return dg.SkipReason(reason)
    companies = partitions_in_step(context.instance, yclients, warehouse)
    if not companies:
        return dg.SkipReason("no company is tracked (ycpipeline companies add ID)")
    return company_groups(context.instance, companies)


@dg.schedule(
    name="yclients_sync_every_30_minutes",
    cron_schedule="*/30 * * * *",
    job=changes_job,
    execution_timezone=_settings.yclients_partition_timezone,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every 30 minutes, one run over every company's partition: change capture (every record "
    "changed since its watermark, whatever the visit date: one request per quiet company), a reconciliation "
    "of RECONCILE_DAYS_BACK days for each company due (RECONCILE_EVERY_HOURS), then the ledger and the "
    "marts. Skips a tick while the previous one still runs.",
)
def yclients_sync_every_30_minutes(
    context: dg.ScheduleEvaluationContext, warehouse: WarehouseResource, yclients: YClientsResource
) -> list[dg.RunRequest] | dg.SkipReason:
    """The tick's change-capture run, unless the previous tick's run is still going."""
    if running := active_run(context.instance, changes_job.name, {TRIGGER_TAG: "schedule"}):
        return dg.SkipReason(f"run {running} of the previous tick is still going")
    groups = groups_to_run(context, warehouse, yclients)
    if isinstance(groups, dg.SkipReason):
        return groups
    return [run.run_request() for run in changes_runs(groups, "schedule")]


@dg.schedule(
    name="yclients_catalog_daily",
    cron_schedule="45 2 * * *",
    job=catalog_job,
    execution_timezone=_settings.yclients_partition_timezone,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every night at 02:45: services and staff of every company (2 requests per company). The "
    "`service` and `staff` webhooks refresh them in between.",
)
def yclients_catalog_daily(
    context: dg.ScheduleEvaluationContext, warehouse: WarehouseResource, yclients: YClientsResource
) -> list[dg.RunRequest] | dg.SkipReason:
    """One catalogue run over every company."""
    groups = groups_to_run(context, warehouse, yclients)
    if isinstance(groups, dg.SkipReason):
        return groups
    return [dg.RunRequest(tags={TRIGGER_TAG: "schedule", **partition_tags(group)}) for group in groups]
