"""Launch ycpipeline's Dagster jobs in-process, stored in the instance at DAGSTER_HOME (seen in the UI)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import dagster as dg

from ycpipeline.client.errors import YClientsError


class RunFailedError(RuntimeError):
    """A Dagster run failed; the message carries the step's own error message."""


def ensure_dagster_home(default: Path = Path("var/dagster_home")) -> Path:
    """Use DAGSTER_HOME, or a project-local one so CLI runs are kept and visible in `dagster dev`."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(default.resolve())))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n")
    return home


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


def run_job(
    name: str,
    *,
    partition_range: tuple[str, str] | None = None,
    tags: Mapping[str, str] | None = None,
    run_config: Mapping[str, Any] | None = None,
) -> dg.ExecuteInProcessResult:
    """Execute a job of the code location; raise `RunFailedError` with the failing step's message."""
    from ycpipeline.defs.partitions import range_tags

    tags = {**(tags or {}), **(range_tags(*partition_range) if partition_range is not None else {})}
    with dg.DagsterInstance.get() as instance:
        # Loaded while the instance is open: loading reads the instance's definitions state.
        job = _definitions().resolve_job_def(name)
        try:
            result = job.execute_in_process(
                instance=instance,
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
    """Metadata of `asset`'s materialization in a run, as plain values.

    A run over a partition range reports one materialization per partition with the same metadata:
    it is returned once.
    """
    for event in result.get_asset_materialization_events():
        mat = event.materialization
        if mat.asset_key.to_user_string() == asset:
            return [{k: getattr(v, "value", v) for k, v in mat.metadata.items()}]
    return []


def date_chunks(start: date, end: date, days: int) -> list[tuple[date, date]]:
    """Split [start, end] into consecutive windows of at most `days` days."""
    chunks, cursor = [], start
    while cursor <= end:
        last = min(end, cursor + timedelta(days=days - 1))
        chunks.append((cursor, last))
        cursor = last + timedelta(days=1)
    return chunks


def sync_window(
    company_ids: list[int],
    start: date,
    end: date,
    *,
    chunk_days: int = 31,
    on_progress: Callable[[int, int, int], None] | None = None,
) -> dict[str, int]:
    """Run `sync_job` over [start, end] for each company, `chunk_days` per run; returns summed counts."""
    from ycpipeline.defs.partitions import partition_key

    totals: dict[str, int] = {}
    for company_id in company_ids:
        for first, last in date_chunks(start, end, chunk_days):
            result = run_job(
                "sync_job",
                partition_range=(partition_key(company_id, first), partition_key(company_id, last)),
            )
            for meta in materializations(result, "yclients_records"):
                for key in ("fetched", "created", "updated", "unchanged", "deleted", "rejected"):
                    totals[key] = totals.get(key, 0) + int(meta.get(key, 0))
            if on_progress:
                on_progress(company_id, (last - first).days + 1, (end - start).days + 1)
    return totals
