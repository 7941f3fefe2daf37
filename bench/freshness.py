"""Change capture: what a tick costs per company (quiet and busy) against the old window-refresh tick,
and how stale the warehouse is after one busy tick (a whole chain's tick: bench/chain.py)."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, text

from bench.common import ANCHOR, client_options, empty, pipeline_settings, show, timer
from ycpipeline.cli.demo_users import seed_demo_users
from ycpipeline.loyalty.ledger import derive_ledger, ledger_violations
from ycpipeline.normalize.values import to_money
from ycpipeline.serving import serve_in_thread
from ycpipeline.sync.changes import ChangePolicy, capture_changes
from ycpipeline.sync.companies import company_timezone
from ycpipeline.sync.records import sync_records
from ycpipeline_sandbox import (
    GenerationParams,
    Sandbox,
    SandboxConfig,
    SandboxState,
    sandbox_client,
)

RATE = Decimal("0.05")
COMPANIES = (235564, 235565, 235566)  # the sandbox's largest chain


def _by_company(box: Sandbox, before: dict[str, int]) -> dict[int, tuple[int, int]]:
    """(record requests, all requests) per company since `before`."""
    spent = {p: n - before.get(p, 0) for p, n in box.stats.by_path.items()}
    out = {}
    for company in COMPANIES:
        mine = {p: n for p, n in spent.items() if f"/{company}" in p}
        records = sum(n for p, n in mine.items() if "/records/" in p or "/record/" in p)
        out[company] = (records, sum(mine.values()))
    return out


def _stale(engine: Engine, box: Sandbox, start: date, end: date) -> int:
    """Records whose stored date, attendance, deletion or total differs from the API's."""
    with engine.connect() as conn:
        stored = {
            (c, r): (d, a, x, t)
            for c, r, d, a, x, t in conn.execute(
                text(
                    "SELECT company_id, record_id, visit_date, attendance, deleted, total_cost FROM yclients.records"
                )
            )
        }
    stale = 0
    for company in COMPANIES:
        for rec in box.state.iter_records(company, start, end):
            total = sum((to_money(s["cost"]) or Decimal(0) for s in rec["services"]), Decimal("0.00"))
            api = (datetime.fromisoformat(rec["datetime"]).date(), rec["attendance"], rec["deleted"], total)
            stale += stored.get((company, rec["id"])) != api
    return stale


def run(engine: Engine, per_day: int, days_back: int, changes: int) -> dict[str, float]:
    """Three companies with `days_back` days of history; a quiet and a busy change-capture tick."""
    state = SandboxState(
        GenerationParams(seed=5, records_per_day=per_day, anchor=ANCHOR),
        companies=len(COMPANIES),
        days_back=days_back,
        days_ahead=35,
    )
    box = Sandbox(state, SandboxConfig(rate_per_second=None, rate_per_minute=None))
    empty(engine)
    with engine.begin() as conn:
        conn.execute(
            text("TRUNCATE yclients.sync_state, yclients.companies, yclients.services, yclients.staff")
        )
    seed_demo_users(engine, seed=5)
    history = (ANCHOR - timedelta(days=days_back), ANCHOR + timedelta(days=35))
    policy = ChangePolicy(date(2024, 1, 1), horizon_days=365, overlap=timedelta(minutes=10))
    with serve_in_thread(box) as base, pipeline_settings(base, engine, COMPANIES):
        from ycpipeline.cli.runs import run_job

        # The first pass of each company (the full load) outside Dagster: through it, each of the
        # history's dates would log a materialization into this throw-away SQLite instance.
        with (
            sandbox_client(f"{base}/api/v1", options=client_options(page_size=200)) as client,
            timer() as initial,
        ):
            for company in COMPANIES:
                capture_changes(client, engine, company, company_timezone(client, engine, company), policy)
        derive_ledger(engine, RATE)
        # Baseline: the records step of the old tick, a window refresh of 3 days back to 30 ahead.
        today = date.today()
        before = dict(box.stats.by_path)
        with sandbox_client(f"{base}/api/v1", options=client_options(page_size=200)) as client:
            for company in COMPANIES:
                zone = company_timezone(client, engine, company)
                sync_records(
                    client, engine, company, zone, today - timedelta(days=3), today + timedelta(days=30)
                )
        old = _by_company(box, before)
        before = dict(box.stats.by_path)
        with timer() as quiet_wall:
            run_job("changes_job")
        quiet = _by_company(box, before)
        rng = random.Random(7)
        for company in COMPANIES:
            ids = [r["id"] for r in state.iter_records(company, *history) if not r["deleted"]]
            for record_id in rng.sample(ids, changes):
                kind = rng.randrange(4)
                if kind == 1 and not state.get_record(company, record_id)["services"]:
                    kind = 0  # nothing to reprice on a visit without services
                if kind == 0:
                    now = state.get_record(company, record_id)["attendance"]
                    state.set_attendance(company, record_id, -1 if now == 1 else 1)
                elif kind == 1:
                    state.set_service_cost(company, record_id, f"{rng.randrange(500, 9000)}.00")
                elif kind == 2:
                    day = history[0] + timedelta(days=rng.randrange(days_back + 30))
                    state.move_record(
                        company, record_id, datetime.combine(day, time(11), ZoneInfo("Asia/Vladivostok"))
                    )
                else:
                    state.delete_record(company, record_id)
        before = dict(box.stats.by_path)
        with timer() as busy_wall:
            run_job("changes_job")
        busy = _by_company(box, before)
        stale = _stale(engine, box, *history)
        with engine.connect() as conn:
            violations = ledger_violations(conn, RATE)
    per_company_quiet = max(n for _, n in quiet.values())
    # The old tick was one run: per company its record pages (measured) plus company, services, staff.
    per_company_old = max(r for r, _ in old.values()) + 3
    show(
        f"freshness: {len(COMPANIES)} companies × {days_back} days of history, {per_day} records a day, "
        f"{changes} changes per company",
        [
            ("first pass (full load) of the 3 companies, s", initial[0]),
            ("old tick (window 3 days back … 30 ahead), record pages per company", per_company_old - 3),
            ("old tick, requests per company (+ company, services, staff)", per_company_old),
            ("quiet tick, record requests per company (target ≤ 2)", max(r for r, _ in quiet.values())),
            ("quiet tick, requests per company (target ≤ 5)", per_company_quiet),
            ("ratio quiet tick ÷ old tick, requests", per_company_quiet / per_company_old),
            ("quiet tick wall time (3 companies, no rate limit), s", quiet_wall[0]),
            (
                f"busy tick ({changes} changes of any age), requests per company",
                max(n for _, n in busy.values()),
            ),
            ("busy tick wall time, s", busy_wall[0]),
            ("stale records after the busy tick (target 0)", stale),
            ("ledger records violating the invariant (target 0)", violations),
        ],
    )
    return {"stale": stale, "quiet_requests": per_company_quiet}
