"""Helpers for the end-to-end targets: the rate-limit floor, a served sandbox, and `ycpipeline sync` in a
child process against it (the command a user runs, Dagster and all)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import yaml
from sqlalchemy import Engine, create_engine, text

from ycpipeline.cli.runs import LOCAL_INSTANCE
from ycpipeline.serving import serve_in_thread
from ycpipeline_sandbox import DEFAULT_PARTNER_TOKEN, DEFAULT_USER_TOKEN, Sandbox

ROOT = Path(__file__).resolve().parents[1]
PER_SECOND, PER_MINUTE = 5, 200  # the documented per-IP limits, enforced by the sandbox


def floor_seconds(requests: int, per_second: int = PER_SECOND, per_minute: int = PER_MINUTE) -> float:
    """The earliest moment the last of `requests` can be sent under both sliding windows.

    The first request goes at 0; request k goes no earlier than one second after request k - 5 and
    one minute after request k - 200 (a window of 200 per minute fills in 40 s, then waits).
    """
    sent: list[float] = []
    for k in range(requests):
        sent.append(
            max(
                sent[k - per_second] + 1.0 if k >= per_second else 0.0,
                sent[k - per_minute] + 60.0 if k >= per_minute else 0.0,
            )
        )
    return sent[-1] if sent else 0.0


def dagster_env(engine: Engine, home: Path, storage: str) -> dict[str, str]:
    """Where Dagster keeps its runs: the project-local sqlite instance, or production's `dagster.yaml`
    on Postgres (a database of its own beside the warehouse, emptied first)."""
    if storage == "sqlite":
        return {"DAGSTER_HOME": str(home)}
    url = engine.url
    name = f"dagster_{home.name.replace('-', '_')}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return {
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_HOST": url.host or "127.0.0.1",
        "DAGSTER_PG_PORT": str(url.port or 5432),
        "DAGSTER_PG_USER": url.username or "",
        "DAGSTER_PG_PASSWORD": url.password or "",
        "DAGSTER_PG_DB": name,
    }


def fresh_home(path: Path, engine: Engine, storage: str = "sqlite") -> dict[str, str]:
    """A DAGSTER_HOME with the project-local instance (or production's, on Postgres), its storage already
    created as a deployment has it; returns the environment that points at it."""
    path.mkdir(parents=True, exist_ok=True)
    for child in path.iterdir():
        if child.is_file():
            child.unlink()
    if storage == "sqlite":
        (path / "dagster.yaml").write_text(yaml.safe_dump(LOCAL_INSTANCE))
    else:
        (path / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
    env = dagster_env(engine, path, storage)
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from ycpipeline.cli.runs import dagster_instance\nwith dagster_instance(): pass",
        ],
        env={**os.environ, **env},
        check=True,
        cwd=ROOT,
    )
    return env


@contextmanager
def served(box: Sandbox) -> Iterator[str]:
    """The sandbox on loopback; yields the API base URL."""
    with serve_in_thread(box) as base:
        yield f"{base}/api/v1"


def sync_env(api: str, engine: Engine, dagster: dict[str, str], companies: list[int]) -> dict[str, str]:
    """The environment of a `ycpipeline sync` against `api`, loading into `engine`'s database."""
    return {
        **os.environ,
        **dagster,
        "YCLIENTS_API_URL": api,
        "YCLIENTS_API_TOKEN": DEFAULT_PARTNER_TOKEN,
        "YCLIENTS_USER_TOKEN": DEFAULT_USER_TOKEN,
        "YCLIENTS_COMPANY_ID": ",".join(map(str, companies)),
        "WAREHOUSE_URL": engine.url.render_as_string(hide_password=False),
        "YCLIENTS_PAGE_SIZE": "200",
        "YCLIENTS_RATE_LIMIT_PER_SECOND": str(PER_SECOND),
        "YCLIENTS_RATE_LIMIT_PER_MINUTE": str(PER_MINUTE),
    }


def start_sync(
    env: dict[str, str], start: date, end: date, company: int | None = None
) -> subprocess.Popen[str]:
    """Start `ycpipeline sync --from start --to end` (for one company, or every configured one)."""
    command = [sys.executable, "-m", "ycpipeline.cli.main", "sync", "--from", str(start), "--to", str(end)]
    if company is not None:
        command += ["--company", str(company)]
    return subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def finish(proc: subprocess.Popen[str], started: float) -> float:
    """Wait for a sync; its wall time from `started`, or an error with its output."""
    return finish_all([proc], started)[0]


def finish_all(procs: list[subprocess.Popen[str]], started: float) -> list[float]:
    """Wait for syncs running side by side; each one's wall time from `started` (or an error)."""
    walls: dict[int, float] = {}
    while len(walls) < len(procs):
        for i, proc in enumerate(procs):
            if i not in walls and proc.poll() is not None:
                walls[i] = time.perf_counter() - started
        time.sleep(0.05)
    for proc in procs:
        output = proc.communicate()[0]
        if proc.returncode != 0:
            raise RuntimeError(f"ycpipeline sync failed:\n{output[-3000:]}")
    return [walls[i] for i in range(len(procs))]


def reset_warehouse(engine: Engine) -> None:
    """Empty what a first sync fills: records, catalogue, ledger, budget, and the tracked companies (each
    section's YCLIENTS_COMPANY_ID seeds its own)."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "TRUNCATE yclients.records, yclients.record_services, yclients.services, yclients.staff, "
                "yclients.rejected_rows, yclients.sync_log, loyalty.bonus_ledger, loyalty.ledger_queue, "
                "loyalty.ledger_state, yclients.api_budget, yclients.api_budget_slots, yclients.tracked_companies"
            )
        )
