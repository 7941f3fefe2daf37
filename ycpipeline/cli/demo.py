"""The demo: a sandbox salon synced into a fresh Postgres through Dagster, exactly as `ycpipeline sync`
does it, ending with a summary; optionally the Dagster UI live on top of it.

It needs no configuration, and none can break it: it always talks to its own sandbox and, unless
`--warehouse-url` says otherwise, to its own embedded Postgres, whatever `.env` holds. Every setting it
depends on is pinned in its process environment, which wins over `.env`.
"""

from __future__ import annotations

import os
import shutil
import signal
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, create_engine

from ycpipeline.cli.demo_users import AMBIGUOUS_PAIR, seed_demo_users
from ycpipeline.cli.demo_wallet import DEMO_EXPIRY_MONTHS, visit_the_till, wallet_summary
from ycpipeline.cli.errors import UserError
from ycpipeline.cli.report import marts_summary, top_balances, warehouse_summary
from ycpipeline.cli.runs import run_job, write_local_instance
from ycpipeline.cli.tick import print_outcomes, run_tick
from ycpipeline.loyalty.ledger import ledger_violations
from ycpipeline.serving import free_port, serve_in_thread
from ycpipeline.settings import load_settings
from ycpipeline.warehouse.embedded import EmbeddedPostgres
from ycpipeline.warehouse.migrate import upgrade
from ycpipeline_sandbox import (
    DEFAULT_PARTNER_TOKEN,
    DEFAULT_USER_TOKEN,
    GenerationParams,
    Sandbox,
    SandboxState,
)

DEMO_DIR = Path("var/demo")  # the demo's cluster (postgres/) and Dagster instance (dagster_home/)
DEMO_FORM_URL = "https://n239661.yclients.com"


def _fresh_embedded_postgres(
    console: Console, data_dir: Path, port: int | None, stack: ExitStack, keep: bool
) -> str:
    """A new, empty cluster in `data_dir` (an earlier demo's is stopped and removed) on `port` (None: a
    free one, so a Postgres already on a usual port is no obstacle); its URL."""
    port = port or free_port()
    pg = EmbeddedPostgres(data_dir, port)
    pg.stop()
    shutil.rmtree(data_dir, ignore_errors=True)
    console.print(f"starting an embedded Postgres in {data_dir} on port {port} …")
    if not keep:
        stack.callback(pg.stop)  # before the start: an interrupt while it starts still stops it
    pg.start()
    return pg.url()


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _pin_settings(box: Sandbox, base: str, warehouse_url: str, days_ahead: int, home: Path) -> None:
    """Point every setting the demo depends on at its own sandbox, warehouse and instance."""
    companies = sorted(box.state.company_indexes)
    history_start = min(box.state.anchor(c) for c in companies) - timedelta(days=box.state.days_back)
    os.environ.update(
        {
            "YCLIENTS_ENABLED": "true",
            "YCLIENTS_API_URL": f"{base}/api/v1",
            "YCLIENTS_API_TOKEN": DEFAULT_PARTNER_TOKEN,
            "YCLIENTS_USER_TOKEN": DEFAULT_USER_TOKEN,
            "YCLIENTS_COMPANY_ID": ",".join(map(str, companies)),
            "YCLIENTS_BOOKING_FORM_URL": DEMO_FORM_URL,
            "WAREHOUSE_URL": warehouse_url,
            # The partitions start where the sandbox's history starts and end where its bookings end,
            # and change capture's first pass (the full load) covers exactly that.
            "RECORDS_START_DATE": history_start.isoformat(),
            "SYNC_DAYS_AHEAD": str(days_ahead),
            "CHANGES_DAYS_AHEAD": str(days_ahead),
            "BONUS_EXPIRY_MONTHS": str(DEMO_EXPIRY_MONTHS),
            "DAGSTER_HOME": str(home),
        }
    )
    os.environ.pop("YCLIENTS_RATE_LIMIT_KEY", None)  # the sandbox's own budget key


def run_demo(
    console: Console,
    *,
    days_back: int,
    days_ahead: int,
    companies: int,
    warehouse_url: str | None,
    data_dir: Path = DEMO_DIR,
    pg_port: int | None = None,
    keep_running: bool = False,
    live_minutes: float | None = 0,
) -> None:
    """Start the sandbox and a fresh warehouse, run what `ycpipeline sync` runs, print what landed;
    then, with `live_minutes` (None: until Ctrl-C), the receiver and `dagster dev` on top.

    A kill (SIGTERM: a terminal closed, `kill`) ends it as Ctrl-C does, at any stage: the cluster, the
    servers and `dagster dev` it started are stopped on the way out."""
    signal.signal(signal.SIGTERM, _interrupt)
    data_dir = data_dir.resolve()
    home = data_dir / "dagster_home"
    embedded = warehouse_url is None
    with ExitStack() as stack:
        if warehouse_url is None:
            warehouse_url = _fresh_embedded_postgres(
                console, data_dir / "postgres", pg_port, stack, keep_running
            )
        shutil.rmtree(home, ignore_errors=True)  # runs of an earlier demo describe another warehouse
        write_local_instance(home)
        box = Sandbox(
            SandboxState(GenerationParams(), companies=companies, days_back=days_back, days_ahead=days_ahead)
        )
        base = stack.enter_context(serve_in_thread(box, port=free_port()))
        console.print(f"sandbox YClients API on {base}/api/v1 (limits 5/s, 200/min, like the real API)")
        _pin_settings(box, base, warehouse_url, days_ahead, home)
        settings = load_settings()
        engine = create_engine(warehouse_url, hide_parameters=True)
        stack.callback(engine.dispose)
        upgrade(engine)
        users = seed_demo_users(engine)
        first, second = AMBIGUOUS_PAIR
        console.print(
            f"warehouse migrated; {users} app users seeded, among them users {first} and {second} "
            "sharing one phone on purpose: their visits accrue nothing and the check "
            "ambiguous_user_matches warns about them"
        )
        console.print(
            f"ycpipeline sync-catalog, then ycpipeline sync through Dagster (DAGSTER_HOME={home}): change "
            f"capture's first pass is the full load of {settings.records_start_date} … {days_ahead} days ahead …"
        )
        run_job("catalog_job")
        outcomes = run_tick()
        failed = print_outcomes(console, outcomes)
        if not failed:
            visit = visit_the_till(engine)
            if visit:
                console.print(
                    f"at the till: user {visit.user_id} spends {visit.spent} points ({visit.spend_id}) and holds "
                    f"{visit.held} for a checkout ({visit.hold_id}), through loyalty.spend_points and "
                    "loyalty.hold_points"
                )
            console.print(
                "the nightly streams (categories, accounts, clients, cash ledger, goods transactions, staff schedules), the bonus "
                f"expiry (points of visits older than {DEMO_EXPIRY_MONTHS} months), then the marts …"
            )
            run_job("nightly_streams_job")
        _print_summary(console, engine, box)
        with engine.connect() as conn:
            violations = ledger_violations(conn, settings.bonus_rate)
        console.print(
            f"ledger invariant: {'holds' if violations == 0 else f'{violations} records violate it'}"
        )
        if failed:
            raise UserError("the demo's sync failed for some companies (see above)")
        if live_minutes is None or live_minutes > 0:
            from ycpipeline.cli.live import run_live

            run_live(console, stack, box, engine, home, minutes=live_minutes)
        if keep_running and embedded:
            console.print(f"Postgres left running: WAREHOUSE_URL={warehouse_url}")


def _print_summary(console: Console, engine: Engine, box: Sandbox) -> None:
    summary = warehouse_summary(engine)
    table = Table(title="What landed in Postgres")
    table.add_column("what")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        table.add_row(key.replace("_", " "), str(value))
    table.add_row("API requests (sandbox)", str(box.stats.requests))
    table.add_row("429s from the sandbox", str(box.stats.rate_limited))
    console.print(table)
    marts = Table(title="What the marts show (marts.*)")
    marts.add_column("what")
    marts.add_column("value", justify="right")
    for key, value in marts_summary(engine).items():
        marts.add_row(key, "—" if value is None else str(value))
    console.print(marts)
    points = Table(title="What the bonus wallet shows (loyalty.bonus_balances, marts.loyalty_liability)")
    points.add_column("what")
    points.add_column("value", justify="right")
    for key, value in wallet_summary(engine).items():
        points.add_row(key, str(value))
    console.print(points)
    balances = top_balances(engine)
    if balances:
        console.print("top bonus balances: " + ", ".join(f"user {u}: {b}" for u, b in balances))
