"""Target 4: a window refresh with nothing changed (what the schedule ran before change capture; reconciliation runs it now)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from bench.common import ANCHOR, COMPANY, MemoryPages, empty, pipeline_settings, show, timer
from ycpipeline.loyalty.ledger import derive_ledger
from ycpipeline.serving import serve_in_thread
from ycpipeline.sync.records import sync_records
from ycpipeline_sandbox import (
    GenerationParams,
    Sandbox,
    SandboxConfig,
    SandboxState,
)

PER_DAY = 25


def run(engine: Engine, size: int) -> dict[str, float]:
    """Fill the warehouse with `size` records, then time one quiet `sync_job` run for the rolling window."""
    days_back = size // PER_DAY + 40
    state = SandboxState(
        GenerationParams(seed=5, records_per_day=PER_DAY, anchor=ANCHOR), days_back=days_back, days_ahead=35
    )
    start_all, end_all = ANCHOR - timedelta(days=days_back), ANCHOR + timedelta(days=35)
    empty(engine)
    sync_records(
        MemoryPages(list(state.iter_records(COMPANY, start_all, end_all))),
        engine,
        COMPANY,  # type: ignore[arg-type]
        ZoneInfo("Europe/Moscow"),
        start_all,
        end_all,
    )
    derive_ledger(engine, Decimal("0.05"))
    box = Sandbox(state, SandboxConfig(rate_per_second=None, rate_per_minute=None))
    start, end = ANCHOR - timedelta(days=3), ANCHOR + timedelta(days=30)
    window_records = sum(
        len(state.day_records(COMPANY, start + timedelta(days=d))) for d in range((end - start).days + 1)
    )
    with serve_in_thread(box) as base, pipeline_settings(base, engine, [COMPANY]):
        from ycpipeline.cli.runs import check_metadata, company_counts, run_job
        from ycpipeline.defs.automation.planning import window_runs

        (window,) = window_runs([[COMPANY]], start, end, "bench")
        # Warm-up (imports, first use of the models): not measured.
        run_job(window.job_name, tags=window.tags, run_config=window.run_config)
        before = box.stats.requests
        with timer() as wall:
            result = run_job(window.job_name, tags=window.tags, run_config=window.run_config)
        requests = box.stats.requests - before
    steps = {
        e.step_key: e.event_specific_data.duration_ms / 1000
        for e in result.all_events
        if e.event_type_value == "STEP_SUCCESS"
    }
    ours = steps.get("yclients_records", 0) + steps.get("bonus_ledger", 0)
    meta = company_counts(result)[COMPANY]
    record_requests = int(check_metadata(result, "records_companies_ok")["api_requests"])
    pages = -(-window_records // 200)
    show(
        f"quiet tick: {size:,} records in the warehouse, window {start} … {end} ({window_records:,} records)",
        [
            ("requests in the run", requests),
            ("  of which the records step's (pages, re-reads, time zone)", record_requests),
            ("  window's pages", pages),
            ("  others: services, staff, categories, accounts", requests - record_requests),
            (
                "rows changed",
                meta["window_created"] + meta["window_updated"] + meta["window_deleted"],
            ),
            ("records step, s", steps.get("yclients_records", 0)),
            ("ledger step, s", steps.get("bonus_ledger", 0)),
            ("load + ledger, s (target < 2)", ours),
            ("catalogue steps + checks, s", sum(steps.values()) - ours),
            ("whole run, s", wall[0]),
            ("Dagster overhead (run − steps), s", wall[0] - sum(steps.values())),
        ],
    )
    return {"ours": ours, "requests": requests}
