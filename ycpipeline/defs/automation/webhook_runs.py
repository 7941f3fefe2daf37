"""How webhook batches meet Dagster: the run that covers a batch, and where that run stands."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import dagster as dg
from sqlalchemy import Engine

from ycpipeline.defs.automation.planning import CHANGES_AND_CATALOG_JOB, PlannedRun, changes_runs
from ycpipeline.defs.healing import CHANGES_MAX_RUNTIME
from ycpipeline.defs.in_process import IN_PROCESS_TAG, abandon_run, abandoned
from ycpipeline.defs.metadata import named_failures
from ycpipeline.webhooks.processing import Batch, RunOutcome

BATCH_TAG = "ycpipeline/webhook-batch"
# Dagster's own tag on a failed run the daemon is about to launch again (run retries).
WILL_RETRY_TAG = "dagster/will_retry"
# A batch whose run has not ended this long after it started is released: run monitoring fails a
# change-capture run at CHANGES_MAX_RUNTIME, and checks every few minutes.
BATCH_RUN_BOUND = CHANGES_MAX_RUNTIME + timedelta(minutes=15)
_FAILED = {dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


def batch_run(batch: Batch, in_process: str | None = None) -> PlannedRun:
    """The one change-capture run of a batch (its company's partition), re-reading its deleted records
    and named clients by id, and the catalogue when an event changed it (`in_process`: the command that
    executes it in its own process)."""
    (run,) = changes_runs(
        [list(batch.companies)],
        "webhook",
        batch.reread_record_ids,
        extra_tags={BATCH_TAG: batch.batch_id, **({IN_PROCESS_TAG: in_process} if in_process else {})},
        client_ids=batch.client_ids,
    )
    return replace(run, job_name=CHANGES_AND_CATALOG_JOB) if batch.catalog else run


def failed_companies(evaluations: Iterable[dg.AssetCheckEvaluation]) -> dict[int, str]:
    """Companies named by failed ERROR checks (the `*_companies_ok` checks), with their first error."""
    failed: dict[int, str] = {}
    for evaluation in evaluations:
        for company, message in named_failures(evaluation).items():
            failed.setdefault(company, message)
    return failed


def _events(instance: dg.DagsterInstance, run_id: str, kind: dg.DagsterEventType) -> list[dg.DagsterEvent]:
    records = instance.get_records_for_run(run_id, of_type=kind).records
    return [r.event_log_entry.dagster_event for r in records if r.event_log_entry.dagster_event is not None]


def run_error(instance: dg.DagsterInstance, run_id: str) -> str | None:
    """The first error of a failed run: its first failed step's own error, else the run's failure message."""
    for event in _events(instance, run_id, dg.DagsterEventType.STEP_FAILURE):
        error = event.step_failure_data.error if event.step_failure_data else None
        while (
            error is not None and error.cause is not None and "StepExecutionError" in (error.cls_name or "")
        ):
            error = error.cause
        if error is not None:
            return error.message.strip()
    failures = _events(instance, run_id, dg.DagsterEventType.RUN_FAILURE)
    return failures[0].message if failures else None


def _since(record: dg.RunRecord) -> datetime:
    """When the run started (or was created, while it waits in the queue)."""
    if record.start_time is not None:
        return datetime.fromtimestamp(record.start_time, UTC)
    return record.create_timestamp


def run_outcome(instance: dg.DagsterInstance, batch_id: str, engine: Engine) -> RunOutcome | None:
    """The batch's run as Dagster knows it (found by its tag), or None when it does not exist yet.

    A failed run the daemon will retry is still running (its retry carries the batch's tag); an
    in-process run whose process is gone is failed here, its pool slots freed.
    """
    records = instance.get_run_records(dg.RunsFilter(tags={BATCH_TAG: batch_id}), limit=5)
    if not records:
        return None
    succeeded = next(
        (r.dagster_run for r in records if r.dagster_run.status == dg.DagsterRunStatus.SUCCESS), None
    )
    if succeeded is not None:
        evaluations = [
            e.event_specific_data
            for e in _events(instance, succeeded.run_id, dg.DagsterEventType.ASSET_CHECK_EVALUATION)
            if isinstance(e.event_specific_data, dg.AssetCheckEvaluation)
        ]
        return RunOutcome(succeeded.run_id, "succeeded", failed_companies=failed_companies(evaluations))
    latest = records[0]
    run = latest.dagster_run
    if run.status in _FAILED:
        if run.tags.get(WILL_RETRY_TAG) == "true":
            ended = datetime.fromtimestamp(latest.end_time, UTC) if latest.end_time else _since(latest)
            return RunOutcome(run.run_id, "running", since=ended)
        return RunOutcome(run.run_id, "failed", error=run_error(instance, run.run_id))
    if (reason := abandoned(run, engine)) is not None:
        abandon_run(instance, run, reason)
        return RunOutcome(run.run_id, "failed", error=reason)
    return RunOutcome(run.run_id, "running", since=_since(latest))
