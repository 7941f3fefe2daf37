"""Runs a CLI command executes in its own process: how they are marked, and how one whose process
died is ended (its lock in the warehouse is free: ycpipeline.warehouse.run_locks)."""

from __future__ import annotations

import dagster as dg
from sqlalchemy import Engine

from ycpipeline.warehouse.run_locks import run_holder_alive

# Set on a run executed in-process (its value names the command): the run lives only as long as that
# process, which holds the run's lock meanwhile.
IN_PROCESS_TAG = "ycpipeline/in-process"
_UNFINISHED = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]


def abandon_run(instance: dg.DagsterInstance, run: dg.DagsterRun, reason: str) -> None:
    """Fail a run whose process is gone, and free the pool slots it held (nothing else would)."""
    instance.report_run_failed(run, reason)
    if instance.event_log_storage.supports_global_concurrency_limits:
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)


def abandoned(run: dg.DagsterRun, engine: Engine) -> str | None:
    """Why an unfinished in-process run has no process left, or None (alive, or not in-process)."""
    command = run.tags.get(IN_PROCESS_TAG)
    if not command or run.status not in _UNFINISHED or run_holder_alive(engine, run.run_id):
        return None
    return f"the `{command}` process that executed run {run.run_id} ended before the run did"


def end_abandoned_runs(instance: dg.DagsterInstance, engine: Engine, limit: int = 100) -> list[str]:
    """Fail every unfinished in-process run whose process is gone, freeing its pool slots; their ids."""
    ended = []
    for run in instance.get_runs(dg.RunsFilter(statuses=_UNFINISHED), limit=limit):
        if (reason := abandoned(run, engine)) is not None:
            abandon_run(instance, run, reason)
            ended.append(run.run_id)
    return ended
