"""Each job's latest successful run, from the Dagster instance `DAGSTER_HOME` names."""

from __future__ import annotations

import os

import dagster as dg

from ycpipeline.metrics.collector import LastRuns

# Successful runs looked at for each job's latest success: the newest this many (one indexed query).
RECENT_SUCCESSES = 500


def last_successes(instance: dg.DagsterInstance) -> dict[str, float]:
    """Each job's latest successful run's end time (Unix seconds), among the newest successful runs."""
    records = instance.get_run_records(
        dg.RunsFilter(statuses=[dg.DagsterRunStatus.SUCCESS]), limit=RECENT_SUCCESSES
    )
    latest: dict[str, float] = {}
    for record in records:
        ended = record.end_time or record.update_timestamp.timestamp()
        job = record.dagster_run.job_name
        latest[job] = max(latest.get(job, 0.0), ended)
    return latest


def last_runs_from_env() -> LastRuns | None:
    """A reader of the latest successes in the instance of `DAGSTER_HOME`; None when it is not set."""
    if not os.environ.get("DAGSTER_HOME"):
        return None
    opened: list[dg.DagsterInstance] = []

    def read() -> dict[str, float]:
        if not opened:
            opened.append(dg.DagsterInstance.get())
        return last_successes(opened[0])

    return read
