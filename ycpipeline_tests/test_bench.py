"""The benchmark suite runs in its quick mode and computes every ratio (no timing is asserted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quick_benchmark_prints_every_ratio(warehouse_url: str, worker_id: str) -> None:
    done = subprocess.run(
        [sys.executable, "bench/run.py", "--quick", "--warehouse-url", warehouse_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    sections = re.findall(r"^== (\w+)", done.stdout, re.M)
    assert sections == [
        "extraction",
        "load",
        "memory",
        "quiet",
        "ledger",
        "webhook",
        "budget",
        "concurrent",
        "small",
        "freshness",
        "queue",
        "marts",
    ]
    ratios = re.findall(r"ratio .*?\s+([0-9.,]+)$", done.stdout, re.M)
    assert len(ratios) >= 8 and all(float(r.replace(",", "")) > 0 for r in ratios)
    assert re.search(r"429s from the sandbox\s+0$", done.stdout, re.M)
    assert re.search(r"rows rewritten by the re-load\s+0$", done.stdout, re.M)
    # The small job compares with dlt when the bench extra is installed, and says so when it is not.
    assert re.search(r"ratio ours ÷ dlt", done.stdout) or "skipped: dlt not installed" in done.stdout
    assert re.search(r"stale records after the busy tick \(target 0\)\s+0$", done.stdout, re.M)
    assert re.search(r"ratio accounted ÷ posted\s+1\.000$", done.stdout, re.M)
