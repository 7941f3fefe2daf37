"""Target 1: extraction near the rate-limit floor (pages ÷ R), with realistic latency, no 429s."""

from __future__ import annotations

from datetime import timedelta

from bench.common import ANCHOR, COMPANY, client_options, show, timer
from ycpipeline.client import RateLimiter, RecordFilters
from ycpipeline.serving import serve_in_thread
from ycpipeline_sandbox import (
    GenerationParams,
    Sandbox,
    SandboxConfig,
    SandboxState,
    sandbox_client,
)

RATE = 5  # the documented per-second limit


def _pages(base: str, concurrency: int, start, end) -> tuple[float, int, int]:  # type: ignore[no-untyped-def]
    with (
        sandbox_client(
            f"{base}/api/v1",
            options=client_options(page_size=50, concurrency=concurrency),
            budget=RateLimiter(RATE, 200),
        ) as client,
        timer() as t,
    ):
        pages = sum(1 for _ in client.iter_record_pages(COMPANY, RecordFilters.visit_window(start, end)))
    return t[0], pages, client.stats.requests


def _sandbox() -> Sandbox:
    return Sandbox(
        SandboxState(GenerationParams(seed=3, records_per_day=25, anchor=ANCHOR), days_back=400),
        SandboxConfig(rate_per_second=RATE, rate_per_minute=200, latency=0.08),
    )


def run(days: int) -> dict[str, float]:
    """Sync `days` of records through the rate-limited, 80 ms sandbox; ours vs one page at a time."""
    start, end = ANCHOR - timedelta(days=days - 1), ANCHOR
    ours, baseline = _sandbox(), _sandbox()  # each measurement gets the API's whole per-minute budget
    with serve_in_thread(ours) as base:
        wall, pages, requests = _pages(base, 4, start, end)
    rejected = ours.stats.rate_limited
    with serve_in_thread(baseline) as base:
        seq_wall, _, _ = _pages(base, 1, start, end)
    floor = pages / RATE
    show(
        f"extraction: {days} days, rate limit {RATE}/s and 200/min, 80 ms latency",
        [
            ("pages", pages),
            ("requests", requests),
            ("429s from the sandbox", rejected),
            ("wall time, s", wall),
            ("floor = pages ÷ R, s", floor),
            ("ratio wall ÷ floor (target ≤ 1.15)", wall / floor),
            ("baseline: one page at a time, s", seq_wall),
            ("ratio baseline ÷ ours", seq_wall / wall),
        ],
    )
    return {"ratio": wall / floor, "rejected": rejected}
