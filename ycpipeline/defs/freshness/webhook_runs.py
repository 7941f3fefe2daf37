"""How webhook batches meet Dagster: the run that covers a batch, and where that run stands."""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg

from ycpipeline.defs.freshness.planning import PlannedRun, changes_run
from ycpipeline.webhooks.processing import Batch, RunOutcome

BATCH_TAG = "ycpipeline/webhook-batch"
_FAILED = {dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


def batch_run(batch: Batch) -> PlannedRun:
    """One change-capture run for the batch's companies, re-reading its deleted records by id."""
    return changes_run(
        batch.companies,
        "webhook",
        batch.reread_record_ids,
        extra_tags={BATCH_TAG: batch.batch_id},
        client_ids=batch.client_ids,
    )


def failed_companies(evaluations: Iterable[dg.AssetCheckEvaluation]) -> dict[int, str]:
    """Companies named by failed ERROR checks (the `*_companies_ok` checks), with their first error."""
    failed: dict[int, str] = {}
    for evaluation in evaluations:
        if evaluation.passed or evaluation.severity != dg.AssetCheckSeverity.ERROR:
            continue
        named = evaluation.metadata.get("failed_companies")
        if named is not None and isinstance(named.value, dict):
            for company, message in named.value.items():
                failed.setdefault(int(company), str(message))
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


def run_outcome(instance: dg.DagsterInstance, batch_id: str) -> RunOutcome | None:
    """The batch's run as Dagster knows it (found by its tag), or None when it does not exist yet."""
    records = instance.get_run_records(dg.RunsFilter(tags={BATCH_TAG: batch_id}), limit=5)
    runs = [r.dagster_run for r in records]
    if not runs:
        return None
    succeeded = next((r for r in runs if r.status == dg.DagsterRunStatus.SUCCESS), None)
    if succeeded is not None:
        evaluations = [
            e.event_specific_data
            for e in _events(instance, succeeded.run_id, dg.DagsterEventType.ASSET_CHECK_EVALUATION)
            if isinstance(e.event_specific_data, dg.AssetCheckEvaluation)
        ]
        return RunOutcome(succeeded.run_id, "succeeded", failed_companies=failed_companies(evaluations))
    latest = runs[0]
    if latest.status in _FAILED:
        return RunOutcome(latest.run_id, "failed", error=run_error(instance, latest.run_id))
    return RunOutcome(latest.run_id, "running")
