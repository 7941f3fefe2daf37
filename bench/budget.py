"""Targets 7a and 7b: first syncs under the real limits (5/s and 200/min, enforced by the sandbox), through
`ycpipeline sync` end to end, against the floor those limits set for the requests they needed."""

from __future__ import annotations

import time
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import Engine, text

from bench.cli_sync import (
    PER_MINUTE,
    PER_SECOND,
    finish,
    finish_all,
    floor_seconds,
    fresh_home,
    reset_warehouse,
    served,
    start_sync,
    sync_env,
)
from bench.common import ANCHOR, show
from ycpipeline_sandbox import GenerationParams, Sandbox, SandboxConfig, SandboxState

COMPANIES = [235564, 235565]


def _sandbox(per_day: int, days: int) -> Sandbox:
    return Sandbox(
        SandboxState(
            GenerationParams(seed=21, records_per_day=per_day, anchor=ANCHOR),
            companies=len(COMPANIES),
            days_back=days + 5,
            days_ahead=0,
        ),
        SandboxConfig(rate_per_second=PER_SECOND, rate_per_minute=PER_MINUTE, latency=0.05),
    )


def _count(box: Sandbox, company: int, start: date, end: date) -> int:
    return sum(box.state.day_count(company, start + timedelta(days=d)) for d in range((end - start).days + 1))


def _stored(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM yclients.records")).scalar_one())


def first_sync(engine: Engine, *, days: int, per_day: int, storage: str = "sqlite") -> dict[str, float]:
    """7a: one `ycpipeline sync` of a chain's first `days` days (one Dagster run for both companies)."""
    box = _sandbox(per_day, days)
    start, end = ANCHOR - timedelta(days=days - 1), ANCHOR
    records = sum(_count(box, c, start, end) for c in COMPANIES)
    reset_warehouse(engine)
    dagster = fresh_home(Path("var/bench-dagster/first-sync").resolve(), engine, storage)
    with served(box) as api:
        started = time.perf_counter()
        wall = finish(start_sync(sync_env(api, engine, dagster, COMPANIES), start, end), started)
    needed = box.stats.requests - box.stats.rate_limited
    floor = floor_seconds(needed)
    share = box.stats.rate_limited / box.stats.requests
    show(
        f"budget: first sync of {records:,} records, {days} days, 2 companies, limits {PER_SECOND}/s + "
        f"{PER_MINUTE}/min, 50 ms latency, Dagster storage: {storage}",
        [
            ("records stored", _stored(engine)),
            ("requests needed", needed),
            ("429s from the sandbox", box.stats.rate_limited),
            ("429 share (target ≤ 1 %)", f"{share:.2%}"),
            ("wall time of `ycpipeline sync`, s", wall),
            ("floor for the requests needed, s", floor),
            ("ratio wall ÷ floor (target ≤ 1.15)", wall / floor),
        ],
    )
    return {"ratio": wall / floor, "share": share}


def two_at_once(engine: Engine, *, days: int, per_day: int, storage: str = "sqlite") -> dict[str, float]:
    """7b: two `ycpipeline sync` processes at once, each a different company and window."""
    box = _sandbox(per_day, 2 * days)
    windows = [
        (COMPANIES[0], ANCHOR - timedelta(days=2 * days - 1), ANCHOR - timedelta(days=days)),
        (COMPANIES[1], ANCHOR - timedelta(days=days - 1), ANCHOR),
    ]
    records = sum(_count(box, c, s, e) for c, s, e in windows)
    reset_warehouse(engine)
    dagster = fresh_home(Path("var/bench-dagster/two-at-once").resolve(), engine, storage)
    with served(box) as api:
        env = sync_env(api, engine, dagster, COMPANIES)
        started = time.perf_counter()
        procs = [start_sync(env, s, e, company=c) for c, s, e in windows]
        walls = finish_all(procs, started)
    needed = box.stats.requests - box.stats.rate_limited
    floor = floor_seconds(needed)
    share = box.stats.rate_limited / box.stats.requests
    show(
        f"concurrent syncs: 2 processes, different companies and windows of {days} days, {records:,} records, "
        f"Dagster storage: {storage}",
        [
            ("records stored", _stored(engine)),
            ("requests needed by both", needed),
            ("429s from the sandbox", box.stats.rate_limited),
            ("429 share (target ≤ 2 %)", f"{share:.2%}"),
            ("wall time of the first to finish, s", min(walls)),
            ("wall time of both, s", max(walls)),
            ("floor for their summed requests, s", floor),
            ("ratio both ÷ floor (target ≤ 1.15)", max(walls) / floor),
        ],
    )
    return {"ratio": max(walls) / floor, "share": share}
