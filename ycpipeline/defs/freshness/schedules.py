"""The 30-minute schedule: catalogue + records of the rolling window + ledger, as one run."""

from datetime import date, timedelta

import dagster as dg

from ycpipeline.defs.freshness.sensors import TRIGGER_TAG
from ycpipeline.defs.jobs import sync_job
from ycpipeline.defs.partitions import COMPANY_KEYS, partition_key, range_tags
from ycpipeline.settings import load_settings

_settings = load_settings()
ACTIVE = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def rolling_window(today: date, days_back: int, days_ahead: int) -> tuple[date, date]:
    """The window of visit dates refreshed around `today`."""
    return today - timedelta(days=days_back), today + timedelta(days=days_ahead)


@dg.schedule(
    name="yclients_sync_every_30_minutes",
    cron_schedule="*/30 * * * *",
    job=sync_job,
    execution_timezone=_settings.yclients_partition_timezone,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every 30 minutes: catalogue, records from SYNC_DAYS_BACK days ago to SYNC_DAYS_AHEAD days "
    "ahead for every company, then the ledger. Skips a tick while the previous one still runs.",
)
def yclients_sync_every_30_minutes(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    """One run for the rolling window of every company, unless the previous tick's run is still going."""
    if not load_settings().yclients_enabled:
        return dg.SkipReason("YCLIENTS_ENABLED is false")
    still_running = context.instance.get_run_records(
        dg.RunsFilter(job_name=sync_job.name, statuses=ACTIVE, tags={TRIGGER_TAG: "schedule"}), limit=1
    )
    if still_running:
        return dg.SkipReason(f"run {still_running[0].dagster_run.run_id} of the previous tick is still going")
    today = context.scheduled_execution_time.date()
    start, end = rolling_window(today, _settings.sync_days_back, _settings.sync_days_ahead)
    start = max(start, date.fromisoformat(_settings.records_start_date))
    return dg.RunRequest(
        tags={
            TRIGGER_TAG: "schedule",
            **range_tags(partition_key(COMPANY_KEYS[0], start), partition_key(COMPANY_KEYS[-1], end)),
        },
    )
