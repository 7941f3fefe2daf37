"""A chain of salons (1,000 in the full run): what a quiet 30-minute tick costs through Dagster at the
API's limits, measured on the whole chain instead of extrapolated from three companies."""

from __future__ import annotations

import time
from datetime import date, timedelta

import dagster as dg
from sqlalchemy import Engine, text

from bench.cli_sync import floor_seconds
from bench.common import ANCHOR, client_options, empty, pipeline_settings, show, timer
from ycpipeline.serving import serve_in_thread
from ycpipeline.sync.changes import ChangePolicy, capture_changes
from ycpipeline.sync.companies import company_timezone
from ycpipeline_sandbox import GenerationParams, Sandbox, SandboxConfig, SandboxState, sandbox_client

FIRST_COMPANY = 235564
PER_SECOND, PER_MINUTE = 5, 200
TICK_INTERVAL_S = 30 * 60


def run(engine: Engine, companies: int) -> dict[str, float]:
    """Load a short history of `companies` salons outside Dagster, then time one quiet tick through it."""
    ids = list(range(FIRST_COMPANY, FIRST_COMPANY + companies))
    with timer() as built:
        state = SandboxState(
            GenerationParams(seed=11, records_per_day=2, anchor=ANCHOR),
            companies=companies,
            days_back=3,
            days_ahead=2,
        )
    box = Sandbox(state, SandboxConfig(rate_per_second=None, rate_per_minute=None))
    empty(engine)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE yclients.sync_state, yclients.companies"))
    policy = ChangePolicy(date(2024, 1, 1), horizon_days=30, overlap=timedelta(minutes=10))
    with serve_in_thread(box) as base, pipeline_settings(base, engine, ids):
        from ycpipeline.cli.runs import check_metadata, company_partition_keys, run_job
        from ycpipeline.definitions import defs

        # Each salon's first pass (its history and watermark) outside Dagster and the limits.
        with (
            sandbox_client(f"{base}/api/v1", options=client_options(page_size=200)) as client,
            timer() as loaded,
        ):
            for company in ids:
                capture_changes(client, engine, company, company_timezone(client, engine, company), policy)
        with timer() as location:
            definitions = defs()
        company_partition_keys()  # the partitions as the companies sensor keeps them
        with dg.DagsterInstance.get() as instance, timer() as tick:
            schedule = definitions.resolve_schedule_def("yclients_sync_every_30_minutes")
            with dg.build_schedule_context(instance=instance, resources=definitions.resources) as context:
                requests = list(schedule.evaluate_tick(context).run_requests or [])
        box.reconfigure(rate_per_second=PER_SECOND, rate_per_minute=PER_MINUTE)
        before, limited_before = box.stats.requests, box.stats.rate_limited
        paths_before = dict(box.stats.by_path)
        (request,) = requests
        started = time.perf_counter()
        result = run_job(str(request.job_name), tags=request.tags, run_config=request.run_config)
        wall = time.perf_counter() - started
        spent, limited = box.stats.requests - before, box.stats.rate_limited - limited_before
        by_path = {p: n - paths_before.get(p, 0) for p, n in box.stats.by_path.items() if "/records/" in p}
        events = len(result.all_events)
        record_requests = int(check_metadata(result, "records_companies_ok")["api_requests"])
    floor = floor_seconds(spent, PER_SECOND, PER_MINUTE)
    show(
        f"chain: a quiet tick of {companies:,} salons (3 days back, 2 ahead, 2 records a day each), limits "
        f"{PER_SECOND}/s + {PER_MINUTE}/min, one run over every salon's partition",
        [
            ("sandbox chain built, s", built[0]),
            ("first passes outside Dagster (no limit), s", loaded[0]),
            ("code location load, s (target < 10)", location[0]),
            ("schedule tick evaluation, s (target < 20)", tick[0]),
            ("runs the tick requested", len(requests)),
            ("requests in the tick", spent),
            ("  records step's requests, per salon (target ≤ 1 + constant)", record_requests / companies),
            ("  salons with more than one records request", sum(n > 1 for n in by_path.values())),
            ("429s from the sandbox (target 0)", limited),
            ("tick wall, s", wall),
            ("floor for its requests at the limits, s", floor),
            ("ratio wall ÷ floor", wall / max(floor, 1)),
            ("ratio wall ÷ the 30-minute interval (target < 1)", wall / TICK_INTERVAL_S),
            ("Dagster events of the run (grow with salons, not salon-days)", events),
        ],
    )
    return {"wall": wall, "requests_per_salon": spent / companies}
