"""The webhook queue under a burst: N events (5 % hostile) through the receiver, then the sensor's work
(`webhook drain`: same code, runs in-process): accepted vs done vs ignored vs failed, and how long a
change announced by a webhook takes to reach the warehouse."""

from __future__ import annotations

import json
import random
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, text

from bench.common import ANCHOR, client_options, empty, pipeline_settings, show, timer
from ycpipeline.serving import serve_in_thread
from ycpipeline.sync.changes import ChangePolicy, capture_changes
from ycpipeline.sync.companies import company_timezone
from ycpipeline.webhooks.receiver import WEBHOOK_PATH, create_receiver
from ycpipeline_sandbox import (
    GenerationParams,
    Sandbox,
    SandboxConfig,
    SandboxState,
    sandbox_client,
)
from ycpipeline_sandbox.webhooks import WebhookEmitter

COMPANIES = (235564, 235565)
SECRET = "bench-queue-secret-0123"


def _event(company: int, record_id: int, **extra: Any) -> dict[str, Any]:
    return {
        "company_id": company,
        "resource": "record",
        "resource_id": record_id,
        "status": "update",
        "data": {"id": record_id, **extra},
    }


def _hostile(n: int, record_id: int) -> dict[str, Any]:
    """Five kinds, in turn: NUL and half an emoji (accepted), an id ≥ 2^63 (refused), an unknown resource,
    another company and a visit before RECORDS_START_DATE (ignored)."""
    kind = n % 5
    if kind == 0:
        return {**_event(235564, record_id, comment="NUL\x00 and half \ud83d"), "x\x00": "\udc00"}
    if kind == 1:
        return _event(235564, 2**63 + n)
    if kind == 2:
        return {**_event(235564, record_id), "resource": "teleport"}
    if kind == 3:
        return _event(999_999, record_id)
    return _event(235564, record_id, datetime="2019-01-16T16:00:00+03:00")


def run(engine: Engine, events: int, per_request: int = 100) -> dict[str, float]:
    """Post `events` events (5 % hostile) to a receiver, drain the queue, time one change end to end."""
    state = SandboxState(
        GenerationParams(seed=9, records_per_day=10, anchor=ANCHOR), companies=2, days_back=60, days_ahead=20
    )
    box = Sandbox(state, SandboxConfig(rate_per_second=None, rate_per_minute=None))
    empty(engine)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE yclients.webhook_events, yclients.sync_state, yclients.companies"))
    ids = {
        c: [r["id"] for r in state.iter_records(c, ANCHOR - timedelta(days=60), ANCHOR)] for c in COMPANIES
    }
    rng = random.Random(3)
    hostile_every = 20  # 5 %
    bodies, n = [], 0
    while n < events:
        body = []
        for _ in range(min(per_request, events - n)):
            company = COMPANIES[n % 2]
            record = rng.choice(ids[company])
            body.append(
                _hostile(n // hostile_every, record) if n % hostile_every == 0 else _event(company, record)
            )
            n += 1
        bodies.append(json.dumps(body).encode())
    with (
        serve_in_thread(box) as api,
        serve_in_thread(create_receiver(engine, SECRET)) as hooks,
        pipeline_settings(api, engine, COMPANIES),
    ):
        from ycpipeline.cli.drain import drain

        policy = ChangePolicy(datetime(2024, 1, 1).date(), horizon_days=365, overlap=timedelta(minutes=10))
        with sandbox_client(f"{api}/api/v1", options=client_options(page_size=200)) as client:
            for company in COMPANIES:
                capture_changes(client, engine, company, company_timezone(client, engine, company), policy)
        url = f"{hooks}{WEBHOOK_PATH}/{SECRET}"

        def post(body: bytes) -> dict[str, int]:
            with httpx.Client(timeout=60) as http:
                answer = http.post(url, content=body, headers={"content-type": "application/json"})
                answer.raise_for_status()
                return answer.json()

        with timer() as posting, ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(post, bodies))
        with timer() as draining:
            counts = drain(engine.url.render_as_string(hide_password=False))
        with engine.connect() as conn:
            batches = conn.execute(
                text("SELECT count(DISTINCT batch_id) FROM yclients.webhook_events WHERE status = 'done'")
            ).scalar_one()
            refused = conn.execute(
                text("SELECT count(*) FROM yclients.rejected_rows WHERE entity = 'webhook'")
            ).scalar_one()
        # One change announced by a webhook: receiver → queue → drain (the sensor's work) → warehouse.
        record = next(r for r in state.day_records(235564, ANCHOR - timedelta(days=8)) if not r["deleted"])
        emitter = WebhookEmitter(url)
        state.listeners.append(emitter)
        started = time.perf_counter()
        state.set_attendance(235564, record["id"], -1 if record["attendance"] == 1 else 1)
        emitter.flush()
        emitter.close()
        drain(engine.url.render_as_string(hide_password=False))
        delay = time.perf_counter() - started
    accepted = sum(a["accepted"] for a in answers)
    show(
        f"queue: {events:,} webhook events, 5 % hostile, {len(bodies)} requests, 8 posters",
        [
            ("accepted (queued)", accepted),
            ("refused one by one (ids out of range)", sum(a["rejected"] for a in answers)),
            ("  of which kept in rejected_rows", refused),
            ("done", counts["done"]),
            ("ignored (unknown resource, other company, before the history)", counts["ignored"]),
            ("failed", counts["failed"]),
            ("pending after the drain", counts["pending"]),
            ("runs (batches of ≤ 5,000)", batches),
            ("posting, s", posting[0]),
            ("drain (claim, runs, settle), s", draining[0]),
            ("ratio accounted ÷ posted", (counts["done"] + counts["ignored"] + refused) / events),
            ("one change: webhook → warehouse via drain, s", delay),
        ],
    )
    return {"done": counts["done"], "delay": delay}
