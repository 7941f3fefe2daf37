"""The webhook sensor, and the follow-up that derives the ledger and the marts after a run in which a
company failed."""

from datetime import UTC, datetime

import dagster as dg

from ycpipeline.defs.automation.planning import tick_skip_reason
from ycpipeline.defs.automation.resources import FreshnessResource
from ycpipeline.defs.automation.webhook_runs import BATCH_RUN_BOUND, WILL_RETRY_TAG, batch_run, run_outcome
from ycpipeline.defs.companies.tracked import partitions_in_step
from ycpipeline.defs.jobs import (
    catalog_job,
    changes_and_catalog_job,
    changes_job,
    ledger_job,
    nightly_streams_job,
    sync_job,
)
from ycpipeline.defs.resources import WarehouseResource, YClientsResource
from ycpipeline.webhooks.processing import claim_batch, prune, ready_companies, settle


@dg.sensor(
    name="yclients_webhook_sensor",
    jobs=[changes_job, changes_and_catalog_job],
    minimum_interval_seconds=5,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Turns queued YClients webhook events (yclients.webhook_events) into change-capture runs, "
    "one per company (its partition), with the catalogue when an event changed it. A company has at most "
    "one such run queued or running: events arriving meanwhile join its next batch. An event stays "
    "pending until a run covering it succeeds; a failed run puts its events back with a backoff "
    "(WEBHOOK_MAX_ATTEMPTS, then failed and retried less often), and so does a run not ended long after "
    "its maximum run time. Events of untracked companies, resources we do not sync and visits before "
    "RECORDS_START_DATE are ignored with the reason. Prunes old done/ignored events.",
)
def yclients_webhook_sensor(
    context: dg.SensorEvaluationContext,
    warehouse: WarehouseResource,
    yclients: YClientsResource,
    freshness: FreshnessResource,
) -> dg.SensorResult | dg.SkipReason:
    """Settle, claim a batch per waiting company, request their runs; bounded work per tick."""
    if reason := tick_skip_reason():
        return dg.SkipReason(reason)
    engine = warehouse.engine()
    settled = settle(
        engine,
        lambda batch_id: run_outcome(context.instance, batch_id, engine),
        max_attempts=freshness.webhook_max_attempts,
        run_bound=BATCH_RUN_BOUND,
    )
    now = datetime.now(UTC)
    waiting = ready_companies(engine, now)
    companies = partitions_in_step(context.instance, yclients, warehouse) if waiting else []
    records_start = freshness.records_start()
    requests = []
    claimed = 0
    for company_id in waiting:
        batch, ids = claim_batch(engine, companies, records_start, ready_by=now, company_id=company_id)
        claimed += len(ids)
        if batch is not None:
            requests.append(batch_run(batch).run_request(run_key=batch.batch_id))
    pruned = prune(engine, freshness.webhook_retention_days)
    summary = (
        f"settled: {settled.done} done, {settled.retried} to retry, {settled.failed} failed, "
        f"{settled.released} released; claimed {claimed} for {len(requests)} companies; pruned {pruned}"
    )
    context.log.info(summary)
    if not requests:
        return dg.SkipReason(f"no event needs a run ({summary})")
    return dg.SensorResult(run_requests=requests)


@dg.run_failure_sensor(
    name="yclients_derive_after_failed_company",
    monitored_jobs=[changes_job, changes_and_catalog_job, sync_job, catalog_job, nightly_streams_job],
    request_job=ledger_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=15,
    description="A run in which a company failed skips the ledger and the marts (they follow the records "
    "in the run): this launches ledger_job after it, so the other companies' points and marts are never "
    "held back by one salon's token or outage.",
)
def yclients_derive_after_failed_company(
    context: dg.RunFailureSensorContext,
) -> dg.RunRequest | dg.SkipReason:
    """One ledger_job run per failed run, unless the daemon retries it (its retry derives them)."""
    if context.dagster_run.tags.get(WILL_RETRY_TAG) == "true":
        return dg.SkipReason(f"run {context.dagster_run.run_id} is retried: its retry derives the ledger")
    return dg.RunRequest(run_key=f"derive-after-{context.dagster_run.run_id}")
