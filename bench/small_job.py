"""Target 7c: a small job (≈3,500 records over 90 days) end to end, `ycpipeline sync` vs dlt's `rest_api`
source on the same sandbox in the same run, and what Dagster costs outside the steps (the records are one
partition per company: the events do not grow with the days)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
from sqlalchemy import Engine, text

from bench.cli_sync import (
    PER_MINUTE,
    PER_SECOND,
    ROOT,
    finish,
    floor_seconds,
    fresh_home,
    reset_warehouse,
    served,
    start_sync,
    sync_env,
)
from bench.common import ANCHOR, COMPANY, show
from ycpipeline_sandbox import GenerationParams, Sandbox, SandboxConfig, SandboxState


def _sandbox(per_day: int, days: int) -> Sandbox:
    return Sandbox(
        SandboxState(
            GenerationParams(seed=33, records_per_day=per_day, anchor=ANCHOR),
            days_back=days + 5,
            days_ahead=0,
        ),
        SandboxConfig(rate_per_second=PER_SECOND, rate_per_minute=PER_MINUTE, latency=0.05),
    )


def _last_run(env: dict[str, str]) -> tuple[float, int]:
    """Seconds spent in the last run's steps, and how many events the run stored."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the instance's dagster.yaml may read DAGSTER_PG_* from the environment
    try:
        instance = dg.DagsterInstance.get()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    with instance:
        run = instance.get_runs(limit=1)[0]
        steps = instance.get_run_step_stats(run.run_id)
        events = len(instance.all_logs(run.run_id))
        return sum(s.end_time - s.start_time for s in steps if s.end_time and s.start_time), events


def _ours(
    engine: Engine, box: Sandbox, dagster: dict[str, str], start: date, end: date
) -> tuple[float, float, int]:
    """Wall of one `ycpipeline sync`, the seconds in its steps, its stored events."""
    with served(box) as api:
        env = sync_env(api, engine, dagster, [COMPANY])
        started = time.perf_counter()
        wall = finish(start_sync(env, start, end), started)
    return (wall, *_last_run(env))


def run(engine: Engine, *, days: int, per_day: int, storage: str = "sqlite") -> dict[str, float]:
    """Time both tools on fresh sandboxes with the same data and limits; ratio ours ÷ dlt."""
    start, end = ANCHOR - timedelta(days=days - 1), ANCHOR
    ours_box = _sandbox(per_day, days)
    records = sum(ours_box.state.day_count(COMPANY, start + timedelta(days=d)) for d in range(days))
    reset_warehouse(engine)
    dagster = fresh_home(Path("var/bench-dagster/small-job").resolve(), engine, storage)
    ours, steps, events = _ours(engine, ours_box, dagster, start, end)
    needed = ours_box.stats.requests - ours_box.stats.rate_limited
    rows: list[tuple[str, object]] = [
        ("records", records),
        ("ours: wall of `ycpipeline sync`, s", ours),
        ("ours: requests / 429s", f"{ours_box.stats.requests} / {ours_box.stats.rate_limited}"),
        ("ours: floor for its requests, s", floor_seconds(needed)),
        ("ours: in the run's steps (catalogue, records, ledger, checks), s", steps),
        (
            f"ours: outside the steps (start-up, {events} Dagster events: one partition, not one per day), s",
            ours - steps,
        ),
    ]
    result = {"ours": ours}
    if importlib.util.find_spec("dlt") is None:
        rows.append(("dlt rest_api", "skipped: dlt not installed (pip install -e '.[bench]')"))
    else:
        dlt_box = _sandbox(per_day, days)
        workdir = Path("var/bench-dlt").resolve()
        shutil.rmtree(workdir, ignore_errors=True)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS dlt_bench CASCADE"))
        # dlt insists on a password; the bench cluster trusts loopback and ignores it.
        url = engine.url.set(drivername="postgresql", password=engine.url.password or "unused")
        url = url.render_as_string(hide_password=False)
        with served(dlt_box) as api:
            started = time.perf_counter()
            done = subprocess.run(
                [
                    sys.executable,
                    "bench/dlt_job.py",
                    api,
                    url,
                    str(start),
                    str(end),
                    str(COMPANY),
                    str(workdir),
                ],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=1800,
            )
            theirs = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"the dlt job failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        with engine.connect() as conn:
            loaded = conn.execute(text("SELECT count(*) FROM dlt_bench.records")).scalar_one()
        rows += [
            ("dlt: records loaded", loaded),
            ("dlt: wall, s", theirs),
            ("dlt: requests / 429s", f"{dlt_box.stats.requests} / {dlt_box.stats.rate_limited}"),
            ("ratio ours ÷ dlt (target ≤ 1)", ours / theirs),
        ]
        result["dlt"] = theirs
    show(
        f"small job: {records:,} records over {days} days, limits {PER_SECOND}/s + {PER_MINUTE}/min, "
        f"Dagster storage: {storage}",
        rows,
    )
    return result
