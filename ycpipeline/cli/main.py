"""`ycpipeline`: check settings, sync through Dagster, run the sandbox and the demo."""

from __future__ import annotations

import logging
import os
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from dotenv import load_dotenv
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from ycpipeline.cli import errors
from ycpipeline.cli.companies import companies_app
from ycpipeline.cli.errors import OneLineErrorsTyper, UserError
from ycpipeline.cli.loyalty import loyalty_app

if TYPE_CHECKING:
    from ycpipeline.settings import Settings

# Every command's errors end as one line on stderr and a non-zero exit (cli/errors.py).
app = OneLineErrorsTyper(help="YClients → Postgres warehouse sync and loyalty ledger.", no_args_is_help=True)
db_app = OneLineErrorsTyper(help="Warehouse schema.", no_args_is_help=True)
postgres_app = OneLineErrorsTyper(
    help="A private Postgres cluster from the system's binaries.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(postgres_app, name="postgres")
webhook_app = OneLineErrorsTyper(help="The YClients webhook receiver and its queue.", no_args_is_help=True)
app.add_typer(webhook_app, name="webhook")
metrics_app = OneLineErrorsTyper(help="Prometheus metrics of the pipeline.", no_args_is_help=True)
app.add_typer(metrics_app, name="metrics")
app.add_typer(loyalty_app, name="loyalty")
app.add_typer(companies_app, name="companies")
console = Console(highlight=False, soft_wrap=True)
OK, BAD = "✅", "❌"


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback of an error")] = False,
) -> None:
    errors.options.debug = debug
    # Dagster's EnvVar reads the process environment: bring `.env` into it (real variables win).
    load_dotenv(Path.cwd() / ".env", override=False)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def _settings() -> Settings:
    from ycpipeline.settings import load_settings

    return load_settings()


def _require(settings: Settings, *names: str) -> None:
    missing = [n for n in names if not getattr(settings, n.lower())]
    if missing:
        raise UserError("missing setting(s): " + ", ".join(missing) + " (set them in .env; see .env.example)")


def _warehouse_url(settings: Settings) -> str:
    _require(settings, "WAREHOUSE_URL")
    assert settings.warehouse_url is not None  # checked by _require
    return settings.warehouse_url


@app.command()
def check() -> None:
    """Show every setting (secrets masked) and whether the warehouse is ready, then call YClients."""
    from ycpipeline.client import YClientsClient, budget_key, open_budget
    from ycpipeline.settings import mask

    s = _settings()
    rows = [
        ("YCLIENTS_ENABLED", str(s.yclients_enabled), s.yclients_enabled),
        ("YCLIENTS_COMPANY_ID", ",".join(map(str, s.company_ids)) or "(not set)", bool(s.company_ids)),
        ("YCLIENTS_API_TOKEN", mask(s.yclients_api_token), s.yclients_api_token is not None),
        ("YCLIENTS_USER_TOKEN", mask(s.yclients_user_token), s.yclients_user_token is not None),
        ("YCLIENTS_API_URL", s.yclients_api_url, True),
        (
            "YCLIENTS_BOOKING_FORM_URL",
            s.yclients_booking_form_url or "(not set)",
            bool(s.yclients_booking_form_url),
        ),
        ("WAREHOUSE_URL", _mask_url(s.warehouse_url), bool(s.warehouse_url)),
        ("BONUS_RATE", str(s.bonus_rate), True),
        (
            "BONUS_EXPIRY_MONTHS",
            f"{s.bonus_expiry_months}{'' if s.bonus_expiry_months else ' (never)'}",
            True,
        ),
        ("BONUS_EXPIRY_NOTICE_DAYS", str(s.bonus_expiry_notice_days), True),
        ("YCLIENTS_WEBHOOK_SECRET", mask(s.yclients_webhook_secret), s.yclients_webhook_secret is not None),
    ]
    for name, shown, ok in rows:
        console.print(f"{OK if ok else BAD} {name} = {shown}", markup=False)
    warehouse_ok = _check_warehouse(s.warehouse_url) if s.warehouse_url else True
    if not (s.company_ids and s.yclients_api_token):
        raise UserError("cannot call YClients without YCLIENTS_COMPANY_ID and YCLIENTS_API_TOKEN")
    budget, where = open_budget(
        s.warehouse_url,
        s.yclients_rate_limit_key or budget_key(s.yclients_api_url),
        s.yclients_rate_limit_per_second,
        s.yclients_rate_limit_per_minute,
    )
    console.print(f"{OK} API budget: {where}")
    # A check answers quickly: three tries for an outage instead of a sync's six.
    options = s.client_options().adjusted(max_attempts=3)
    with YClientsClient(
        s.yclients_api_url, s.yclients_api_token, s.yclients_user_token, options=options, budget=budget
    ) as client:
        for company_id in s.company_ids:
            found = client.list_services(company_id)
            console.print(f"{OK} company {company_id}: connection OK: {len(found)} services found")
    if not warehouse_ok:
        raise UserError("the warehouse is not ready for the ledger (see above)")


def _check_warehouse(url: str) -> bool:
    """Print whether the warehouse answers and its `loyalty.app_users` has the shape the ledger reads."""
    from sqlalchemy import create_engine
    from sqlalchemy.exc import DBAPIError

    from ycpipeline.loyalty.app_users import app_users_problems

    engine = create_engine(url, hide_parameters=True)
    try:
        with engine.connect() as conn:
            problems = app_users_problems(conn)
    except DBAPIError as exc:
        console.print(f"{BAD} warehouse: {errors.describe(exc)[0]}", markup=False)
        return False
    finally:
        engine.dispose()
    for problem in problems:
        console.print(f"{BAD} {problem}", markup=False)
    if not problems:
        console.print(f"{OK} warehouse reachable; loyalty.app_users has what the ledger reads")
    return not problems


def _mask_url(url: str | None) -> str:
    if not url:
        return "(not set)"
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _prepare_dagster() -> None:
    from ycpipeline.cli.runs import ensure_dagster_home

    s = _settings()
    _require(s, "YCLIENTS_API_TOKEN", "WAREHOUSE_URL")
    ensure_dagster_home()


@app.command("sync-catalog")
def sync_catalog_command(
    company: Annotated[
        list[int] | None, typer.Option(help="Only these companies (default: all tracked)")
    ] = None,
) -> None:
    """Refresh services and staff through Dagster (the run shows in the UI)."""
    from ycpipeline.cli.runs import RunFailedError, company_counts, failure_message, groups_of, run_job
    from ycpipeline.defs.automation.planning import partition_tags

    _prepare_dagster()
    try:
        # Without --company, one run over every tracked company (run_job's default range).
        runs = [partition_tags(group) for group in groups_of(company)] if company else [{}]
    except ValueError as exc:
        raise UserError(str(exc)) from None
    failed = False
    for tags in runs:
        try:
            result = run_job("catalog_job", tags=tags, raise_on_error=False)
        except RunFailedError as exc:
            raise UserError(str(exc)) from None
        for entity in ("services", "staff"):
            for company_id, c in company_counts(result, f"{entity}_companies_ok").items():
                console.print(
                    f"{entity} of company {company_id}: created {c['created']}, updated {c['updated']}, "
                    f"unchanged {c['unchanged']}, removed {c['retired']}, rejected {c['rejected']}"
                )
        if not result.success:
            console.print(f"{BAD} {failure_message(result)}")
            failed = True
    if failed:
        raise UserError("some companies failed (see above); the others were synced")


@app.command()
def sync(
    from_: Annotated[
        datetime | None, typer.Option("--from", formats=["%Y-%m-%d"], help="First visit date")
    ] = None,
    to: Annotated[datetime | None, typer.Option("--to", formats=["%Y-%m-%d"], help="Last visit date")] = None,
    company: Annotated[
        list[int] | None, typer.Option(help="Only these companies (default: all tracked)")
    ] = None,
) -> None:
    """Without dates: what the 30-minute schedule runs (change capture, a reconciliation where due, the
    ledger and the marts); it also repairs a company whose partition failed. With --from/--to: the
    catalogue, the records of that window, the ledger. Through Dagster."""
    from ycpipeline.cli.runs import company_partition_keys
    from ycpipeline.cli.tick import print_outcomes, run_tick, run_window

    _prepare_dagster()
    s = _settings()
    tracked = [int(k) for k in company_partition_keys()]
    companies = company or tracked
    _check_companies(companies, tracked)
    if from_ is None and to is None:
        console.print(f"change capture for companies {', '.join(map(str, companies))} …")
        outcomes = run_tick(companies)
    else:
        today = date.today()
        start = from_.date() if from_ else today - timedelta(days=s.sync_days_back)
        end = to.date() if to else today + timedelta(days=s.sync_days_ahead)
        _check_window(start, end, s.records_start)
        total_days = (end - start + timedelta(days=1)).days * len(companies)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} days"),
            TimeElapsedColumn(),
            console=console,
            disable=not sys.stdout.isatty(),
        ) as progress:
            task = progress.add_task(f"syncing {start} … {end}", total=total_days)
            outcomes = run_window(
                companies, start, end, on_progress=lambda _c, days, _t: progress.advance(task, days)
            )
        console.print(f"records of {start} … {end}:")
    failed = print_outcomes(console, outcomes)
    if failed:
        raise UserError("some companies failed (see above); the others were synced")


def _check_window(start: date, end: date, first: date) -> None:
    """Refuse a reversed window, or one before the history starts (`first`, RECORDS_START_DATE)."""
    if end < start:
        raise UserError(f"--to {end} is before --from {start}")
    if start < first:
        raise UserError(
            f"--from {start} is before RECORDS_START_DATE {first}: "
            "choose a later --from or set an earlier RECORDS_START_DATE"
        )


def _check_companies(companies: list[int], tracked: list[int]) -> None:
    """Refuse a company that is not tracked (the partitions and the schedules know only those)."""
    unknown = [c for c in companies if c not in tracked]
    if unknown:
        raise UserError(
            f"company {', '.join(map(str, unknown))} is not tracked ({', '.join(map(str, tracked)) or 'none'}): "
            f"ycpipeline companies add {' '.join(map(str, unknown))}"
        )


@app.command("check-booking-sync")
def check_booking_sync() -> None:
    """Tokens, app users with a code, completed visits matched to users, last sync and ledger run."""
    from sqlalchemy import create_engine, text

    from ycpipeline.cli.report import booking_sync_report

    s = _settings()
    console.print(f"{OK if s.yclients_api_token else BAD} YCLIENTS_API_TOKEN configured")
    console.print(f"{OK if s.yclients_user_token else BAD} YCLIENTS_USER_TOKEN configured")
    engine = create_engine(_warehouse_url(s), hide_parameters=True)
    with engine.connect() as conn:
        with_code, users = conn.execute(
            text("SELECT count(*) FILTER (WHERE unique_code IS NOT NULL), count(*) FROM loyalty.app_users")
        ).one()
    report = booking_sync_report(engine)
    console.print(f"users with a unique_code: {with_code} of {users}")
    console.print(
        f"completed visits: matched {report['matched']}, unmatched {report['unmatched']}, "
        f"ambiguous {report['ambiguous']}"
    )
    console.print(f"last successful records sync: {report['last_sync'] or 'never'}")
    console.print(f"last ledger entry: {report['last_ledger_entry'] or 'never'}")
    console.print(f"bonus points accrued {report['accrued']}, reversed {report['reversed']}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the warehouse migrations (idempotent)."""
    from sqlalchemy import create_engine

    from ycpipeline.loyalty.app_users import verify_app_users
    from ycpipeline.warehouse.migrate import upgrade

    s = _settings()
    engine = create_engine(_warehouse_url(s), hide_parameters=True)
    upgrade(engine)
    # Migrations run once: the app may have changed its table since, so look at it on every upgrade.
    with engine.connect() as conn:
        verify_app_users(conn)
    engine.dispose()
    console.print(f"{OK} warehouse schema is up to date")


@app.command()
def sandbox(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1")] = 8765,
    seed: int = 42,
    companies: Annotated[int, typer.Option(min=1, help="Companies of the chain (ids from 235564)")] = 1,
    records_per_day: int = 25,
    days_back: Annotated[int, typer.Option(help="Days of generated history before today")] = 120,
    days_ahead: Annotated[int, typer.Option(help="Days of future bookings")] = 35,
    rate_limit: Annotated[bool, typer.Option(help="Enforce 5/s and 200/min like YClients")] = True,
    latency_ms: int = 0,
    changed_after_reading: Annotated[
        str, typer.Option(help="How an offset-less changed_after is read: local (company time) or utc")
    ] = "local",
    delete_bumps_change_time: Annotated[
        bool, typer.Option(help="Whether deleting a record moves its last_change_date")
    ] = True,
) -> None:
    """Serve the sandbox YClients API until interrupted (knobs at run time: POST /_sandbox/config)."""
    import uvicorn

    from ycpipeline_sandbox import GenerationParams, Sandbox, SandboxConfig, SandboxState

    if changed_after_reading not in ("local", "utc"):
        raise UserError("--changed-after-reading is local or utc")
    config = SandboxConfig(
        latency=latency_ms / 1000,
        changed_after_reading="local" if changed_after_reading == "local" else "utc",
        delete_bumps_change_time=delete_bumps_change_time,
    )
    if not rate_limit:  # the sandbox's own defaults are the real API's limits
        config.rate_per_second = config.rate_per_minute = None
    box = Sandbox(
        SandboxState(
            GenerationParams(seed=seed, records_per_day=records_per_day),
            companies=companies,
            days_back=days_back,
            days_ahead=days_ahead,
        ),
        config,
    )
    shown = ", ".join(map(str, box.state.company_ids[:5])) + (" …" if companies > 5 else "")
    console.print(f"sandbox YClients API on http://127.0.0.1:{port}/api/v1 (companies {shown})")
    uvicorn.run(box, host="127.0.0.1", port=port, log_level="warning")


@webhook_app.command("serve")
def webhook_serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (9003 is the old backend's)")] = 9003,
    max_body: Annotated[int, typer.Option(help="Largest accepted body, in bytes")] = 1024 * 1024,
) -> None:
    """Receive webhooks at POST /api/v1/yclients/webhook/<secret> into the queue (yclients.webhook_events)."""
    import uvicorn

    from ycpipeline.metrics.runs import last_runs_from_env
    from ycpipeline.webhooks.receiver import WEBHOOK_PATH, create_receiver

    s = _settings()
    _require(s, "YCLIENTS_WEBHOOK_SECRET", "WAREHOUSE_URL")
    assert s.yclients_webhook_secret is not None  # checked by _require
    receiver = create_receiver(
        _warehouse_url(s),
        s.yclients_webhook_secret.get_secret_value(),
        max_body=max_body,
        last_runs=last_runs_from_env(),
    )
    console.print(
        f"webhook receiver on http://{host}:{port}{WEBHOOK_PATH}/<secret> → yclients.webhook_events "
        f"(metrics at /metrics)"
    )
    # No access log: the secret is part of the URL.
    uvicorn.run(receiver, host=host, port=port, log_level="warning", access_log=False, timeout_keep_alive=5)


@metrics_app.command("serve")
def metrics_serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 9108,
) -> None:
    """Serve GET /metrics (Prometheus) where no webhook receiver runs; each job's latest success is read
    from the Dagster instance of DAGSTER_HOME when it is set."""
    import uvicorn
    from sqlalchemy import create_engine

    from ycpipeline.metrics import metrics_app as build_metrics_app
    from ycpipeline.metrics.runs import last_runs_from_env

    s = _settings()
    _require(s, "WAREHOUSE_URL")
    engine = create_engine(_warehouse_url(s), pool_pre_ping=True, hide_parameters=True)
    console.print(f"metrics on http://{host}:{port}/metrics")
    uvicorn.run(build_metrics_app(engine, last_runs_from_env()), host=host, port=port, log_level="warning")


@webhook_app.command("drain")
def webhook_drain() -> None:
    """Process every pending webhook event once, as the sensor does, running the runs here and waiting
    for them (when the Dagster daemon is down). Ends with the events counted by status."""
    from ycpipeline.cli.drain import drain
    from ycpipeline.webhooks.processing import Batch

    _prepare_dagster()
    s = _settings()

    def report(batch: Batch, error: str | None) -> None:
        what = f"batch of {batch.events} events for companies {', '.join(map(str, batch.companies))}"
        console.print(f"{BAD} {what}: {error}" if error else f"{OK} {what}")

    counts = drain(_warehouse_url(s), on_batch=report)
    console.print("webhook events: " + ", ".join(f"{status} {n}" for status, n in counts.items()))
    if counts["pending"] or counts["failed"]:
        raise UserError("some events are still pending or failed: see yclients.webhook_events.reason")


@postgres_app.command("start")
def postgres_start(
    data_dir: Annotated[Path, typer.Option(help="Cluster directory")] = Path("var/postgres"),
    port: int = 55432,
    database: Annotated[list[str] | None, typer.Option(help="Databases to create")] = None,
) -> None:
    """Start (creating if needed) a private cluster; prints its WAREHOUSE_URL."""
    from ycpipeline.warehouse.embedded import EmbeddedPostgres, EmbeddedPostgresError

    pg = EmbeddedPostgres(data_dir, port)
    try:
        pg.start(tuple(database or ["ycpipeline"]))
    except EmbeddedPostgresError as exc:
        # stdout carries only the URL (scripts capture it); the reason goes to stderr.
        Console(stderr=True, highlight=False).print(f"{BAD} {exc}")
        raise typer.Exit(1) from None
    print(pg.url((database or ["ycpipeline"])[0]))


@postgres_app.command("stop")
def postgres_stop(
    data_dir: Annotated[Path, typer.Option(help="Cluster directory")] = Path("var/postgres"),
    port: int = 55432,
) -> None:
    """Stop a private cluster and say what was stopped."""
    from ycpipeline.warehouse.embedded import EmbeddedPostgres

    if EmbeddedPostgres(data_dir, port).stop():
        console.print(f"{OK} stopped the Postgres cluster in {data_dir}")
    else:
        console.print(
            f"no Postgres cluster is running in {data_dir}: nothing to stop "
            "(the demo's cluster lives in var/demo/postgres, the tests' in var/test-postgres)"
        )


@app.command()
def demo(
    days_back: Annotated[int, typer.Option(help="Days of sandbox history (the partitions start there)")] = 90,
    days_ahead: Annotated[int, typer.Option(help="Days of future bookings")] = 30,
    companies: Annotated[int, typer.Option(min=1, help="Companies of the sandbox chain")] = 1,
    warehouse_url: Annotated[
        str | None,
        typer.Option(help="Use this Postgres instead of a fresh embedded one (WAREHOUSE_URL is ignored)"),
    ] = None,
    data_dir: Annotated[
        Path, typer.Option(help="The demo's embedded cluster and Dagster instance (recreated each time)")
    ] = Path("var/demo"),
    pg_port: Annotated[
        int | None, typer.Option(help="Port of the embedded Postgres (default: a free one)")
    ] = None,
    keep_running: Annotated[
        bool, typer.Option(help="Leave the embedded Postgres running afterwards")
    ] = False,
    ui: Annotated[
        bool,
        typer.Option(
            help="Then open the Dagster UI with the sandbox, the receiver and settings live (Ctrl-C ends)"
        ),
    ] = False,
    live: Annotated[
        float, typer.Option(help="Then run live for N minutes, timing webhook → warehouse for each change")
    ] = 0,
) -> None:
    """Sandbox + a fresh embedded Postgres + exactly what `ycpipeline sync` runs, through Dagster, then a
    summary. Needs no configuration; `.env` cannot redirect it."""
    from ycpipeline.cli.demo import run_demo

    started = time.monotonic()
    run_demo(
        console,
        days_back=days_back,
        days_ahead=days_ahead,
        companies=companies,
        warehouse_url=warehouse_url,
        data_dir=data_dir,
        pg_port=pg_port,
        keep_running=keep_running,
        live_minutes=None if ui else live,
    )
    console.print(f"demo finished in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":  # pragma: no cover
    app(prog_name=os.path.basename(sys.argv[0]))
