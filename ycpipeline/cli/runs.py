"""Launch ycpipeline's Dagster jobs in-process, stored in the instance at DAGSTER_HOME (seen in the UI)."""

from __future__ import annotations

import fcntl
import os
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import yaml
from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import OperationalError

from ycpipeline.client.errors import YClientsError


class RunFailedError(RuntimeError):
    """A Dagster run failed; the message carries the step's own error message."""


# The project-local instance: sqlite storage (Dagster's default), with the run queue, pools, run
# monitoring and run retries of the production dagster.yaml (its comments say why), so `dagster dev`
# runs schedule, sensor and manual runs as production does.
LOCAL_INSTANCE: dict[str, Any] = {
    "sensors": {"use_threads": True, "num_workers": 4},
    "schedules": {"use_threads": True, "num_workers": 2},
    "run_coordinator": {
        "module": "dagster._core.run_coordinator",
        "class": "QueuedRunCoordinator",
        "config": {"dequeue_interval_seconds": 1, "dequeue_use_threads": True},
    },
    "concurrency": {
        "runs": {
            "max_concurrent_runs": 4,
            "tag_concurrency_limits": [{"key": "dagster/backfill", "limit": 2}],
        },
        "pools": {"default_limit": 1},
    },
    "run_monitoring": {
        "enabled": True,
        "start_timeout_seconds": 180,
        "cancel_timeout_seconds": 180,
        "max_resume_run_attempts": 0,
        "poll_interval_seconds": 60,
        "free_slots_after_run_end_seconds": 60,
    },
    "run_retries": {"enabled": True, "max_retries": 0, "retry_on_asset_or_op_failure": True},
    "telemetry": {"enabled": False},
}
# A run executed in this process has no code location the daemon could relaunch it from: its
# failure is the caller's to retry (running the command again), never the daemon's.
NO_DAEMON_RETRY = {"dagster/max_retries": "0"}


def _with_local_defaults(config: dict[str, Any]) -> dict[str, Any]:
    """`config` plus whatever of `LOCAL_INSTANCE` it lacks; nothing it sets is changed."""
    merged = dict(config)
    for key, value in LOCAL_INSTANCE.items():
        if key not in merged:
            merged[key] = value
        elif isinstance(merged[key], dict) and isinstance(value, dict):
            merged[key] = {**value, **merged[key]}
    return merged


def write_local_instance(home: Path) -> None:
    """A new project-local instance in `home`: sqlite storage with the production run queue and pools."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(yaml.safe_dump(LOCAL_INSTANCE, sort_keys=False))


def ensure_dagster_home(default: Path = Path("var/dagster_home")) -> Path:
    """Use DAGSTER_HOME, or a project-local one so CLI runs are kept and visible in `dagster dev`.

    The project-local `dagster.yaml` gets the production run queue and pools; an older one that lacks
    them is completed, keeping every setting it has. A DAGSTER_HOME set by the user is left alone.
    """
    project_local = "DAGSTER_HOME" not in os.environ
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(default.resolve())))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        write_local_instance(home)
    elif project_local:
        current = yaml.safe_load(config.read_text()) or {}
        completed = _with_local_defaults(current)
        if completed != current:
            config.write_text(yaml.safe_dump(completed, sort_keys=False))
    return home


@contextmanager
def dagster_instance() -> Iterator[dg.DagsterInstance]:
    """The instance at DAGSTER_HOME, its storage created under a lock.

    On a fresh DAGSTER_HOME, the first use of each sqlite storage creates it and stamps its schema
    version; two commands doing that at once leave Alembic with two heads. A lock file serialises the
    creation; afterwards the commands run side by side.
    """
    home = Path(os.environ["DAGSTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".ycpipeline-instance.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        instance = dg.DagsterInstance.get()
        try:
            instance.get_runs(limit=1)
            instance.event_log_storage.get_asset_records()
            instance.schedule_storage  # noqa: B018 - the property creates the schedule storage
        except BaseException:
            instance.dispose()
            raise
    with instance:
        yield instance


def _definitions() -> dg.Definitions:
    from ycpipeline.definitions import defs

    return defs()


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    """The failing step's own error message of a failed run."""
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            error = event.step_failure_data.error
            while error.cause is not None and "DagsterExecutionStepExecutionError" in (error.cls_name or ""):
                error = error.cause
            return error.message.strip()
    return "the run failed (see the Dagster UI for the logs)"


@contextmanager
def _owning(run_id: str) -> Iterator[Engine | None]:
    """Hold the run's lock in the warehouse while it executes; None when there is no warehouse to
    hold it in (unset or unreachable: the run then reports the warehouse's error itself)."""
    from ycpipeline.settings import load_settings
    from ycpipeline.warehouse.run_locks import holding_run

    url = load_settings().warehouse_url
    if url is None:
        yield None
        return
    engine = create_engine(url, hide_parameters=True)
    try:
        with ExitStack() as stack:
            try:
                stack.enter_context(holding_run(engine, run_id))
                owned = True
            except OperationalError:
                owned = False
            yield engine if owned else None
    finally:
        engine.dispose()


def _company_partitions(instance: dg.DagsterInstance, engine: Engine | None) -> list[str]:
    """Make the company partitions equal the warehouse's tracked companies; their keys in order."""
    from ycpipeline.defs.partitions import keep_partitions_in_step, partition_keys
    from ycpipeline.settings import load_settings
    from ycpipeline.warehouse.tracked_companies import tracked

    if engine is not None:
        keep_partitions_in_step(instance, tracked(engine, load_settings().company_ids))
    return partition_keys(instance)


def company_partition_keys() -> list[str]:
    """The company partitions, first made equal to the warehouse's tracked companies (seeded from
    YCLIENTS_COMPANY_ID), in their order."""
    from ycpipeline.settings import load_settings

    url = load_settings().warehouse_url
    engine = create_engine(url, hide_parameters=True) if url else None
    try:
        with dagster_instance() as instance:
            return _company_partitions(instance, engine)
    finally:
        if engine is not None:
            engine.dispose()


def groups_of(company_ids: Sequence[int]) -> list[list[int]]:
    """The companies in groups of neighbouring partitions (one run each), after keeping the partitions
    in step; ValueError naming a company that is not tracked."""
    from ycpipeline.defs.partitions import group_keys

    return group_keys(company_partition_keys(), company_ids)


def run_job(
    name: str,
    *,
    tags: Mapping[str, str] | None = None,
    run_config: Mapping[str, Any] | None = None,
    raise_on_error: bool = True,
) -> dg.ExecuteInProcessResult:
    """Execute a job of the code location; raise `RunFailedError` with the failing step's message
    (unless `raise_on_error` is False: the caller reads the failed result).

    A job over the company partitions covers the partitions its tags name, else every tracked company.
    The run holds its lock in the warehouse while it executes; first, the runs of earlier commands
    whose process died mid-run are failed and their pool slots freed (else this run could wait for
    a slot for ever).
    """
    from ycpipeline.defs.in_process import IN_PROCESS_TAG, end_abandoned_runs
    from ycpipeline.defs.partitions import PARTITION_TAG, RANGE_START, range_tags

    tags = {IN_PROCESS_TAG: "ycpipeline", **(tags or {}), **NO_DAEMON_RETRY}
    run_id = str(uuid.uuid4())
    with dagster_instance() as instance, _owning(run_id) as engine:
        if engine is not None:
            end_abandoned_runs(instance, engine)
        else:  # no lock held: never mistake this run for one whose process died
            del tags[IN_PROCESS_TAG]
        # Loaded while the instance is open: loading reads the instance's definitions state.
        job = _definitions().resolve_job_def(name)
        if job.partitions_def is not None:
            keys = _company_partitions(instance, engine)
            if PARTITION_TAG not in tags and RANGE_START not in tags:
                if not keys:
                    raise RunFailedError(
                        "no company is tracked: ycpipeline companies add ID (or YCLIENTS_COMPANY_ID)"
                    )
                tags.update(range_tags(keys[0], keys[-1]))
        try:
            result = job.execute_in_process(
                instance=instance,
                run_id=run_id,
                tags=tags,
                raise_on_error=False,
                # Step logs stay in the run's event log (the UI); the terminal gets warnings only.
                run_config={
                    **(run_config or {}),
                    "loggers": {"console": {"config": {"log_level": "WARNING"}}},
                },
            )
        except YClientsError as exc:
            raise RunFailedError(str(exc)) from None
    if not result.success and raise_on_error:
        raise RunFailedError(failure_message(result))
    return result


def check_metadata(result: dg.ExecuteInProcessResult, check_name: str) -> dict[str, Any]:
    """Metadata of a check's evaluation in a run, as plain values (empty when it did not run)."""
    for evaluation in result.get_asset_check_evaluations():
        if evaluation.check_name == check_name:
            return {k: getattr(v, "value", v) for k, v in evaluation.metadata.items()}
    return {}


def sync_window(
    company_ids: list[int],
    start: date,
    end: date,
    *,
    on_progress: Callable[[int, int, int], None] | None = None,
) -> dict[str, int]:
    """Run `sync_job` over visit dates [start, end] for the companies: one run per group of neighbouring
    partitions; returns summed counts of the records' window. Raises `RunFailedError` when a run failed.

    One run pays Dagster's start-up once; memory stays bounded because each company's pages stream
    into the warehouse's staging tables in chunks.
    """
    from ycpipeline.defs.automation.planning import window_runs

    groups = groups_of(company_ids)
    totals: dict[str, int] = {}
    days = (end - start).days + 1
    for run in window_runs(groups, start, end, "cli"):
        result = run_job(run.job_name, tags=run.tags, run_config=run.run_config)
        for counts in company_counts(result).values():
            for key in ("fetched", "created", "updated", "unchanged", "deleted", "rejected"):
                totals[key] = totals.get(key, 0) + counts.get(f"window_{key}", 0)
        if on_progress:
            for company_id in run.companies:
                on_progress(company_id, days, days)
    return totals


def company_counts(
    result: dg.ExecuteInProcessResult, check_name: str = "records_companies_ok"
) -> dict[int, dict[str, int]]:
    """What a run did by company, from a per-company asset's `*_companies_ok` check (reported whether
    the run succeeded or a company failed)."""
    by_company = check_metadata(result, check_name).get("by_company_json") or {}
    return {
        int(company): {k: v for k, v in row.items() if isinstance(v, int) and not isinstance(v, bool)}
        for company, row in by_company.items()
    }
