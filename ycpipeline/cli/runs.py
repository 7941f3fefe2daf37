"""Launch ycpipeline's Dagster jobs in-process, stored in the instance at DAGSTER_HOME (seen in the UI)."""

from __future__ import annotations

import fcntl
import os
import uuid
from collections.abc import Callable, Iterator, Mapping
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
    "run_coordinator": {"module": "dagster._core.run_coordinator", "class": "QueuedRunCoordinator"},
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


def _failure_message(result: dg.ExecuteInProcessResult) -> str:
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


def run_job(
    name: str,
    *,
    partition_range: tuple[str, str] | None = None,
    tags: Mapping[str, str] | None = None,
    run_config: Mapping[str, Any] | None = None,
) -> dg.ExecuteInProcessResult:
    """Execute a job of the code location; raise `RunFailedError` with the failing step's message.

    The run holds its lock in the warehouse while it executes; first, the runs of earlier commands
    whose process died mid-run are failed and their pool slots freed (else this run could wait for
    a slot for ever).
    """
    from ycpipeline.defs.in_process import IN_PROCESS_TAG, end_abandoned_runs
    from ycpipeline.defs.partitions import range_tags

    tags = {
        IN_PROCESS_TAG: "ycpipeline",
        **(tags or {}),
        **(range_tags(*partition_range) if partition_range is not None else {}),
        **NO_DAEMON_RETRY,
    }
    run_id = str(uuid.uuid4())
    with dagster_instance() as instance, _owning(run_id) as engine:
        if engine is not None:
            end_abandoned_runs(instance, engine)
        else:  # no lock held: never mistake this run for one whose process died
            del tags[IN_PROCESS_TAG]
        # Loaded while the instance is open: loading reads the instance's definitions state.
        job = _definitions().resolve_job_def(name)
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
    if not result.success:
        raise RunFailedError(_failure_message(result))
    return result


def materializations(result: dg.ExecuteInProcessResult, asset: str) -> list[dict[str, Any]]:
    """Metadata of `asset`'s materializations in a run, as plain values (one per partition when the
    asset is partitioned, each with that partition's own counts)."""
    return [
        {k: getattr(v, "value", v) for k, v in event.materialization.metadata.items()}
        for event in result.get_asset_materialization_events()
        if event.materialization.asset_key.to_user_string() == asset
    ]


def check_metadata(result: dg.ExecuteInProcessResult, check_name: str) -> dict[str, Any]:
    """Metadata of a check's evaluation in a run, as plain values (empty when it did not run)."""
    for evaluation in result.get_asset_check_evaluations():
        if evaluation.check_name == check_name:
            return {k: getattr(v, "value", v) for k, v in evaluation.metadata.items()}
    return {}


def window_counts(result: dg.ExecuteInProcessResult) -> dict[int, dict[str, int]]:
    """What a `sync_job` run did to the records, by company: the run-wide counts no single partition
    holds, reported with the `records_count_matches_api` check."""
    by_company = check_metadata(result, "records_count_matches_api").get("by_company_json") or {}
    return {
        int(company): {k: v for k, v in row.items() if isinstance(v, int)}
        for company, row in by_company.items()
    }


def sync_window(
    company_ids: list[int],
    start: date,
    end: date,
    *,
    on_progress: Callable[[int, int, int], None] | None = None,
) -> dict[str, int]:
    """Run `sync_job` over [start, end] for the companies: one run, or one per group of companies that
    are not neighbours in the partitions (`contiguous_company_groups`); returns summed counts.

    One run pays Dagster's start-up once; memory stays bounded because each company's pages stream
    into the warehouse's staging tables in chunks.
    """
    from ycpipeline.defs.partitions import contiguous_company_groups, partition_key

    totals: dict[str, int] = {}
    days = (end - start).days + 1
    for group in contiguous_company_groups(company_ids):
        result = run_job(
            "sync_job",
            partition_range=(partition_key(group[0], start), partition_key(group[-1], end)),
        )
        for counts in window_counts(result).values():
            for key in ("fetched", "created", "updated", "unchanged", "deleted", "rejected"):
                totals[key] = totals.get(key, 0) + counts.get(key, 0)
        if on_progress:
            for company_id in group:
                on_progress(company_id, days, days)
    return totals
