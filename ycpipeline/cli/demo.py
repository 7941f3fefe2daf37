"""The demo: a sandbox salon synced into Postgres through Dagster, ending with a summary."""

from __future__ import annotations

import os
from contextlib import ExitStack
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, create_engine

from ycpipeline.cli.demo_users import seed_demo_users
from ycpipeline.cli.report import top_balances, warehouse_summary
from ycpipeline.cli.runs import ensure_dagster_home, run_job, sync_window
from ycpipeline.loyalty.ledger import ledger_violations
from ycpipeline.sandbox import (
    DEFAULT_PARTNER_TOKEN,
    DEFAULT_USER_TOKEN,
    GenerationParams,
    Sandbox,
    SandboxState,
)
from ycpipeline.serving import free_port, serve_in_thread
from ycpipeline.warehouse.embedded import EmbeddedPostgres
from ycpipeline.warehouse.migrate import upgrade

DEMO_PG_DIR = Path("var/demo-postgres")
DEMO_PG_PORT = 55433


def run_demo(
    console: Console,
    *,
    days_back: int,
    days_ahead: int,
    companies: int,
    keep_running: bool,
    live_minutes: float = 0,
) -> None:
    """Start what is missing (sandbox, Postgres), sync the window, print what landed."""
    with ExitStack() as stack:
        if not os.environ.get("WAREHOUSE_URL"):
            pg = EmbeddedPostgres(DEMO_PG_DIR, DEMO_PG_PORT)
            console.print(f"starting an embedded Postgres in {DEMO_PG_DIR} on port {DEMO_PG_PORT} …")
            pg.start()
            if not keep_running:
                stack.callback(pg.stop)
            os.environ["WAREHOUSE_URL"] = pg.url()
        box = Sandbox(
            SandboxState(
                GenerationParams(), companies=companies, days_back=days_back + 5, days_ahead=days_ahead + 5
            )
        )
        base = stack.enter_context(serve_in_thread(box, port=free_port()))
        console.print(f"sandbox YClients API on {base}/api/v1 (limits 5/s, 200/min, like the real API)")
        # The demo always talks to the sandbox, whatever .env says about the real API.
        os.environ.update(
            {
                "YCLIENTS_API_URL": f"{base}/api/v1",
                "YCLIENTS_API_TOKEN": DEFAULT_PARTNER_TOKEN,
                "YCLIENTS_USER_TOKEN": DEFAULT_USER_TOKEN,
                "YCLIENTS_COMPANY_ID": ",".join(map(str, box.state.company_indexes)),
                "YCLIENTS_BOOKING_FORM_URL": os.environ.get(
                    "YCLIENTS_BOOKING_FORM_URL", "https://n239661.yclients.com"
                ),
            }
        )
        ensure_dagster_home()
        engine = create_engine(os.environ["WAREHOUSE_URL"], hide_parameters=True)
        upgrade(engine)
        users = seed_demo_users(engine)
        console.print(f"warehouse migrated; {users} app users seeded")
        today = date.today()
        start, end = today - timedelta(days=days_back), today + timedelta(days=days_ahead)
        console.print(
            f"syncing records {start} … {end} through Dagster (DAGSTER_HOME={os.environ['DAGSTER_HOME']}) …"
        )
        totals = sync_window(list(box.state.company_indexes), start, end)
        run_job("ledger_job")
        _print_summary(console, engine, totals, box)
        with engine.connect() as conn:
            violations = ledger_violations(conn, Decimal(os.environ.get("BONUS_RATE", "0.05")))
        console.print(
            f"ledger invariant: {'holds' if violations == 0 else f'{violations} records violate it'}"
        )
        if live_minutes:
            from ycpipeline.cli.live import run_live

            run_live(console, stack, box, engine, minutes=live_minutes)
        if keep_running:
            console.print(f"Postgres left running: WAREHOUSE_URL={os.environ['WAREHOUSE_URL']}")
        engine.dispose()


def _print_summary(console: Console, engine: Engine, totals: dict[str, int], box: Sandbox) -> None:
    summary = warehouse_summary(engine)
    table = Table(title="What landed in Postgres")
    table.add_column("what")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        table.add_row(key.replace("_", " "), str(value))
    table.add_row("API requests (sandbox)", str(box.stats.requests))
    table.add_row("429s from the sandbox", str(box.stats.rate_limited))
    console.print(table)
    console.print("this run: " + ", ".join(f"{k} {v}" for k, v in totals.items()))
    balances = top_balances(engine)
    if balances:
        console.print("top bonus balances: " + ", ".join(f"user {u}: {b}" for u, b in balances))
