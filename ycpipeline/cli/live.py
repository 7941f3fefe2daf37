"""The live demo: sandbox changes → webhooks → receiver → queue (Postgres) → sensor (dagster dev) →
change capture → warehouse."""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import httpx
from rich.console import Console
from sqlalchemy import Engine, text

from ycpipeline.serving import free_port, serve_in_thread
from ycpipeline.webhooks.receiver import WEBHOOK_PATH, create_receiver
from ycpipeline_sandbox import Sandbox
from ycpipeline_sandbox.webhooks import WebhookEmitter


def run_live(
    console: Console,
    stack: ExitStack,
    box: Sandbox,
    engine: Engine,
    home: Path,
    *,
    minutes: float | None,
    every: float = 30.0,
) -> list[float]:
    """Serve the receiver, start `dagster dev` on the instance in `home`, mutate the sandbox every
    `every` seconds for `minutes` (None: until Ctrl-C) and time how long each change takes to reach
    the warehouse. Returns the delays in seconds."""
    secret = os.environ.get("YCLIENTS_WEBHOOK_SECRET") or secrets.token_urlsafe(24)
    os.environ["YCLIENTS_WEBHOOK_SECRET"] = secret
    receiver = create_receiver(engine, secret)
    base = stack.enter_context(serve_in_thread(receiver, port=free_port()))
    emitter = WebhookEmitter(f"{base}{WEBHOOK_PATH}/{secret}")
    stack.callback(emitter.close)
    box.state.listeners.append(emitter)
    console.print(f"webhook receiver on {base}{WEBHOOK_PATH}/<secret>, queue yclients.webhook_events")
    dagster = shutil.which("dagster", path=str(Path(sys.executable).parent)) or "dagster"
    port = free_port()
    log = open(home / "dagster-dev.log", "ab")  # noqa: SIM115
    stack.callback(log.close)
    proc = subprocess.Popen(
        [dagster, "dev", "-m", "ycpipeline.definitions", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=os.environ.copy(),
        # `dagster dev` loads `.env` from its working directory over the environment; the instance's
        # directory has none, so the settings pinned here (the demo's) are the ones it runs with.
        cwd=home,
        start_new_session=True,  # its code servers are stopped with it, as one process group
    )
    stack.callback(_stop, proc)
    # The address is printed once the UI answers: printed at launch, it led to a refused connection.
    if not _answers(f"http://127.0.0.1:{port}/server_info", proc, timeout=180.0):
        raise RuntimeError(f"dagster dev did not answer on port {port}: see {home / 'dagster-dev.log'}")
    console.print(
        f"dagster dev on http://127.0.0.1:{port} (sensor and schedule running); a change every "
        f"{every:.0f} s {'until Ctrl-C' if minutes is None else f'for {minutes:g} min — Ctrl-C to stop'}"
    )
    company = next(iter(box.state.company_indexes))
    today = box.state.anchor(company)
    candidates = [
        r
        for d in range(1, 8)
        for r in box.state.day_records(company, today - timedelta(days=d))
        if r["attendance"] in (1, -1) and not r["deleted"]
    ]
    rng = random.Random(1)
    delays: list[float] = []
    deadline = float("inf") if minutes is None else time.monotonic() + minutes * 60
    # Ctrl-C (and a SIGTERM, which the demo turns into one) ends the loop; the stack stops the rest.
    try:
        while time.monotonic() < deadline:
            if not candidates:  # every recent visit was flipped once: keep the UI up, change nothing
                time.sleep(every)
                continue
            record = candidates.pop(rng.randrange(len(candidates)))
            new = -1 if record["attendance"] == 1 else 1
            started = time.monotonic()
            box.state.set_attendance(company, record["id"], new)
            delay = _wait_for(engine, record["id"], new, started, timeout=max(90.0, every * 3))
            if delay is None:
                console.print(f"record {record['id']}: not in the warehouse after 90 s")
            else:
                delays.append(delay)
                console.print(
                    f"record {record['id']} attendance → {new}: in the warehouse after {delay:.1f} s"
                )
            time.sleep(max(0.0, every - (time.monotonic() - started)))
    except KeyboardInterrupt:
        pass
    if delays:
        console.print(
            f"webhook → warehouse delay: median {sorted(delays)[len(delays) // 2]:.1f} s, "
            f"max {max(delays):.1f} s over {len(delays)} changes"
        )
    return delays


def _answers(url: str, proc: subprocess.Popen[bytes], timeout: float) -> bool:
    """True once `url` answers 200; False when `proc` ended or `timeout` passed first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return False


def _wait_for(
    engine: Engine, record_id: int, attendance: int, started: float, timeout: float
) -> float | None:
    while time.monotonic() - started < timeout:
        with engine.connect() as conn:
            now = conn.execute(
                text("SELECT attendance FROM yclients.records WHERE record_id = :r"), {"r": record_id}
            ).scalar()
        if now == attendance:
            return time.monotonic() - started
        time.sleep(0.5)
    return None


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop `dagster dev` and the code servers it started (they outlive it otherwise)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
