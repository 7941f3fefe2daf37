"""Target 3: peak memory of a backfill stays flat as the history grows (pages streamed in chunks)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from bench.common import empty, history, show
from ycpipeline.serving import free_port

ROOT = Path(__file__).resolve().parents[1]


def _peak(api: str, url: str, start, end) -> tuple[int, int, float]:  # type: ignore[no-untyped-def]
    began = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.memory_worker", api, url, str(start), str(end)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    out, _ = proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"memory worker failed ({proc.returncode})")
    fetched, rss_kb = map(int, out.split())
    return fetched, rss_kb // 1024, time.perf_counter() - began


def run(engine: Engine, small: int, large: int) -> dict[str, float]:
    """Backfill `small` then `large` records from a sandbox server process; compare peak RSS."""
    _, first_day, _ = history(large)
    port = free_port()
    days_back = (date.today() - first_day).days + 2  # the server's "today" is the real one
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ycpipeline.cli.main",
            "sandbox",
            "--port",
            str(port),
            "--no-rate-limit",
            "--records-per-day",
            "900",
            "--days-back",
            str(days_back),
            "--days-ahead",
            "0",
            "--seed",
            "11",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        time.sleep(3)
        api = f"http://127.0.0.1:{port}/api/v1"
        rows = []
        for size in (small, large):
            empty(engine)
            _, start, end = history(size)
            rows.append(_peak(api, engine.url.render_as_string(hide_password=False), start, end))
    finally:
        server.terminate()
        server.wait()
    (s_fetched, s_rss, _), (l_fetched, l_rss, l_wall) = rows
    show(
        f"memory: backfill of {s_fetched:,} and {l_fetched:,} records over HTTP (no latency, no limit)",
        [
            (f"peak RSS at {s_fetched:,}, MB", s_rss),
            (f"peak RSS at {l_fetched:,}, MB (target < 600)", l_rss),
            ("ratio large ÷ small (target ≤ 1.3)", l_rss / s_rss),
            (f"wall at {l_fetched:,}, s", l_wall),
            ("records/s over HTTP", int(l_fetched / l_wall)),
        ],
    )
    return {"ratio": l_rss / s_rss, "peak_mb": l_rss}
