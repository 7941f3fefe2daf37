"""`ycpipeline webhook drain`: every pending webhook event once, through the sensor's own code, with the
runs executed in-process (for operators when the daemon is down, and for tests).

Each run holds its lock in the warehouse while it executes (`run_job`): when a drain is killed mid-run,
the next drain (or the sensor) finds the lock free, fails the dead run, frees its pool slots and runs
the batch's events again."""

from __future__ import annotations

from collections.abc import Callable

import dagster as dg
from sqlalchemy import create_engine

from ycpipeline.cli.runs import RunFailedError, company_partition_keys, run_job
from ycpipeline.webhooks.processing import (
    Batch,
    RunOutcome,
    claim_batch,
    ready_companies,
    release_if_orphaned,
    settle,
)
from ycpipeline.webhooks.queue import counts_by_status


def drain(warehouse_url: str, on_batch: Callable[[Batch, str | None], None] | None = None) -> dict[str, int]:
    """Settle, then claim and run batch after batch until every event was tried once; counts by status."""
    from ycpipeline.defs.automation.resources import freshness_resource
    from ycpipeline.defs.automation.webhook_runs import BATCH_RUN_BOUND, batch_run, run_outcome

    freshness = freshness_resource()
    engine = create_engine(warehouse_url, hide_parameters=True)
    attempted: set[int] = set()
    try:
        with dg.DagsterInstance.get() as instance:

            def lookup(batch_id: str) -> RunOutcome | None:
                return run_outcome(instance, batch_id, engine)

            def settle_ended() -> None:
                settle(engine, lookup, max_attempts=freshness.webhook_max_attempts, run_bound=BATCH_RUN_BOUND)

            settle_ended()
            tracked = [int(key) for key in company_partition_keys()]
            taken_elsewhere: set[int] = set()
            while True:
                # Backoffs are not waited for: each event gets one try in this drain, and one only.
                # One batch per company, as the sensor claims them.
                waiting = [
                    c for c in ready_companies(engine, None, exclude=attempted) if c not in taken_elsewhere
                ]
                if not waiting:
                    break
                batch, claimed = claim_batch(
                    engine,
                    tracked,
                    freshness.records_start(),
                    ready_by=None,
                    exclude=attempted,
                    company_id=waiting[0],
                )
                if not claimed:  # the sensor or another drain took them meanwhile: its run does them
                    taken_elsewhere.add(waiting[0])
                    continue
                attempted.update(claimed)
                if batch is None:
                    continue
                run = batch_run(batch, in_process="webhook drain")
                error = None
                try:
                    run_job(run.job_name, tags=run.tags, run_config=run.run_config)
                except RunFailedError as exc:
                    error = str(exc)
                settle_ended()
                release_if_orphaned(engine, batch.batch_id, lookup)
                if on_batch is not None:
                    on_batch(batch, error)
        with engine.connect() as conn:
            return counts_by_status(conn)
    finally:
        engine.dispose()
