"""The benchmark suite runs in its quick mode and computes every ratio (no timing is asserted)."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ycpipeline.serving import free_port
from ycpipeline.warehouse.embedded import EmbeddedPostgres

ROOT = Path(__file__).resolve().parents[2]
# Where the bench keeps its own cluster when no --warehouse-url is given (relative to its working dir).
PRIVATE_POSTGRES_DIR = Path("var/bench-postgres")


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
        "chain",
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
    assert re.search(r"salons with more than one records request\s+0$", done.stdout, re.M)


@pytest.fixture
def bench_dir(worker_id: str) -> Iterator[Path]:
    """A working directory of its own for a bench run (its var/bench-postgres lands there). Under the
    repository, not the system temp dir: as root the cluster runs as another user, who must reach it."""
    workdir = ROOT / "var" / f"bench-stop-{worker_id}"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    yield workdir
    EmbeddedPostgres(workdir / PRIVATE_POSTGRES_DIR).stop()  # in case the bench left it running
    shutil.rmtree(workdir, ignore_errors=True)


def _bench(port: int) -> list[str]:
    """The quick bench's cheapest section, on a private cluster at `port`."""
    return [
        sys.executable,
        str(ROOT / "bench" / "run.py"),
        "--quick",
        "--only",
        "extract",
        "--postgres-port",
        str(port),
    ]


def test_the_private_postgres_of_the_bench_is_stopped_when_it_ends(bench_dir: Path) -> None:
    port = free_port()
    done = subprocess.run(_bench(port), cwd=bench_dir, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    cluster = EmbeddedPostgres(bench_dir / PRIVATE_POSTGRES_DIR, port)
    assert (cluster.data_dir / "PG_VERSION").exists()  # the bench did run its own cluster here
    assert not cluster.is_running()
    assert not (cluster.data_dir / "postmaster.pid").exists()


def test_the_private_postgres_of_the_bench_is_stopped_on_ctrl_c(bench_dir: Path) -> None:
    port = free_port()
    cluster = EmbeddedPostgres(bench_dir / PRIVATE_POSTGRES_DIR, port)
    bench = subprocess.Popen(
        _bench(port), cwd=bench_dir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 120
        while not cluster.is_running():
            assert bench.poll() is None and time.monotonic() < deadline, "the bench never started Postgres"
            time.sleep(0.2)
        bench.send_signal(signal.SIGINT)
        bench.wait(timeout=120)
    finally:
        bench.kill()
        bench.wait()
    assert not cluster.is_running()
    assert not (cluster.data_dir / "postmaster.pid").exists()
