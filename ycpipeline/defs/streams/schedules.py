"""The nightly schedule of the streams read once a day: categories, accounts, clients, the cash ledger,
goods transactions, staff schedules."""

from datetime import UTC, datetime

import dagster as dg

from ycpipeline.defs.automation.planning import partition_tags
from ycpipeline.defs.automation.schedules import groups_to_run
from ycpipeline.defs.jobs import nightly_streams_job
from ycpipeline.defs.resources import WarehouseResource, YClientsResource
from ycpipeline.settings import load_settings

_settings = load_settings()


@dg.schedule(
    name="yclients_streams_nightly",
    cron_schedule="15 3 * * *",
    job=nightly_streams_job,
    execution_timezone=_settings.yclients_partition_timezone,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every night at 03:15: service categories, payment accounts, the clients snapshot, the cash "
    "ledger (its weekly wide read when due), goods transactions (what changed since the last night) and staff "
    "schedules, then the marts: per company 3 requests (categories, accounts, schedules) plus the clients', "
    "the cash ledger's and the goods transactions' pages.",
)
def yclients_streams_nightly(
    context: dg.ScheduleEvaluationContext, warehouse: WarehouseResource, yclients: YClientsResource
) -> list[dg.RunRequest] | dg.SkipReason:
    """One run a night over every salon's partition (one per group of neighbouring partitions)."""
    groups = groups_to_run(context, warehouse, yclients)
    if isinstance(groups, dg.SkipReason):
        return groups
    night = context.scheduled_execution_time or datetime.now(UTC)
    return [
        dg.RunRequest(run_key=f"nightly-{night:%Y-%m-%d}-{group[0]}", tags=partition_tags(group))
        for group in groups
    ]
