"""The webhook sensor: each tick settles earlier batches, claims pending events and requests one
change-capture run for the companies they touch (deleted records re-read by id)."""

from datetime import UTC, date, datetime

import dagster as dg

from ycpipeline.defs.freshness.planning import tick_skip_reason
from ycpipeline.defs.freshness.resources import FreshnessResource
from ycpipeline.defs.freshness.webhook_runs import BATCH_RUN_BOUND, batch_run, run_outcome
from ycpipeline.defs.jobs import changes_job
from ycpipeline.defs.resources import WarehouseResource, YClientsResource
from ycpipeline.webhooks.processing import claim_batch, prune, settle


@dg.sensor(
    name="yclients_webhook_sensor",
    job=changes_job,
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Turns queued YClients webhook events (yclients.webhook_events) into one change-capture "
    "run per tick for the companies they touch. An event stays pending until a run covering it "
    "succeeds; a failed run puts its events back with a backoff (WEBHOOK_MAX_ATTEMPTS, then failed and "
    "retried less often), and so does a run not ended long after its maximum run time. Events of "
    "other companies, resources we do not sync and visits before RECORDS_START_DATE are ignored with "
    "the reason. Prunes old done/ignored events.",
)
def yclients_webhook_sensor(
    context: dg.SensorEvaluationContext,
    warehouse: WarehouseResource,
    yclients: YClientsResource,
    freshness: FreshnessResource,
) -> dg.SensorResult | dg.SkipReason:
    """Settle, claim, request; bounded work per tick."""
    if reason := tick_skip_reason():
        return dg.SkipReason(reason)
    engine = warehouse.engine()
    settled = settle(
        engine,
        lambda batch_id: run_outcome(context.instance, batch_id, engine),
        max_attempts=freshness.webhook_max_attempts,
        run_bound=BATCH_RUN_BOUND,
    )
    batch, claimed = claim_batch(
        engine,
        yclients.companies(),
        date.fromisoformat(freshness.records_start_date),
        ready_by=datetime.now(UTC),
    )
    pruned = prune(engine, freshness.webhook_retention_days)
    summary = (
        f"settled: {settled.done} done, {settled.retried} to retry, {settled.failed} failed, "
        f"{settled.released} released; claimed {len(claimed)}; pruned {pruned}"
    )
    context.log.info(summary)
    if batch is None:
        return dg.SkipReason(f"no event needs a run ({summary})")
    return dg.SensorResult(run_requests=[batch_run(batch).run_request(run_key=batch.batch_id)])
