"""ycpipeline's benchmark suite: prints each target as a ratio measured in the same run.

python bench/run.py            # full sizes (minutes)
python bench/run.py --quick    # small sizes, for CI: proves the suite runs and computes its ratios
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SECTIONS = (
    "extract",
    "load",
    "memory",
    "quiet",
    "ledger",
    "receiver",
    "budget",
    "concurrent",
    "small",
    "freshness",
    "chain",
    "queue",
    "marts",
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (CI)")
    parser.add_argument("--only", choices=SECTIONS, action="append", help="run only these sections")
    parser.add_argument(
        "--warehouse-url",
        default=os.environ.get("BENCH_WAREHOUSE_URL"),
        help="Postgres to measure in (default: a private cluster in var/bench-postgres, stopped at the end)",
    )
    parser.add_argument(
        "--postgres-port",
        type=int,
        default=55437,
        help="port of the private cluster (when no --warehouse-url is given)",
    )
    parser.add_argument(
        "--dagster-storage",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="for the end-to-end sections: the project-local sqlite instance (default) or production's "
        "dagster.yaml on Postgres",
    )
    args = parser.parse_args()
    from bench.common import warehouse

    # A kill (SIGTERM) unwinds like Ctrl-C does, so the private cluster is stopped either way.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    with warehouse(args.warehouse_url, args.postgres_port) as engine:
        run_sections(args, engine)


def run_sections(args: argparse.Namespace, engine: Engine) -> None:
    """Each chosen section in turn, at the quick or the full sizes."""
    from bench import (
        budget,
        chain,
        extract,
        freshness,
        ledger,
        load,
        marts,
        memory,
        quiet,
        receiver,
        small_job,
        webhook_queue,
    )

    chosen = args.only or SECTIONS
    started = time.perf_counter()
    q = args.quick
    if "extract" in chosen:
        extract.run(days=3 if q else 240)
    if "load" in chosen:
        load.run(engine, size=3_000 if q else 200_000, sample=300 if q else 5_000)
    if "memory" in chosen:
        memory.run(engine, small=2_000 if q else 100_000, large=10_000 if q else 1_000_000)
    if "quiet" in chosen:
        quiet.run(engine, size=3_000 if q else 100_000)
    if "ledger" in chosen:
        ledger.run(
            engine,
            sizes=(5_000, 20_000) if q else (100_000, 1_000_000),
            changed=500 if q else 10_000,
            users=2_000 if q else 100_000,
        )
    if "receiver" in chosen:
        receiver.run(engine, requests=400 if q else 5_000)
    if "budget" in chosen:
        budget.first_sync(engine, days=3 if q else 90, per_day=40 if q else 590, storage=args.dagster_storage)
    if "concurrent" in chosen:
        budget.two_at_once(
            engine, days=2 if q else 45, per_day=40 if q else 1000, storage=args.dagster_storage
        )
    if "small" in chosen:
        small_job.run(engine, days=5 if q else 90, per_day=20 if q else 41, storage=args.dagster_storage)
    if "freshness" in chosen:
        freshness.run(engine, per_day=5 if q else 25, days_back=60 if q else 400, changes=10 if q else 100)
    if "chain" in chosen:
        chain.run(engine, companies=20 if q else 1000)
    if "queue" in chosen:
        webhook_queue.run(engine, events=500 if q else 10_000)
    if "marts" in chosen:
        marts.run(engine, records=20_000 if q else 1_000_000)
    print(f"\nbenchmark finished in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
