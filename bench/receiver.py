"""Webhook receiver throughput on loopback: events committed to the queue against a no-write baseline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import Engine, text

from bench.common import show
from ycpipeline.serving import free_port

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-secret-0123456789"
EVENT = {
    "company_id": 235564,
    "resource": "record",
    "resource_id": 1,
    "status": "update",
    "data": {"id": 1, "datetime": "2026-11-20T10:00:00+03:00", "attendance": 1},
}


def _hammer(url: str, requests: int, concurrency: int, body: bytes | None) -> tuple[float, list[float]]:
    latencies: list[float] = []

    def worker(count: int) -> None:
        with httpx.Client(timeout=30) as http:
            for _ in range(count):
                began = time.perf_counter()
                response = http.post(url, content=body) if body is not None else http.get(url)
                response.raise_for_status()
                latencies.append(time.perf_counter() - began)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(worker, [requests // concurrency] * concurrency))
    return time.perf_counter() - started, sorted(latencies)


def run(engine: Engine, requests: int, concurrency: int = 8) -> dict[str, float]:
    """POST `requests` single events with `concurrency` clients to a receiver in its own process."""
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE yclients.webhook_events"))
    port = free_port()
    env = {
        **os.environ,
        "YCLIENTS_WEBHOOK_SECRET": SECRET,
        "WAREHOUSE_URL": engine.url.render_as_string(hide_password=False),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "ycpipeline.cli.main", "webhook", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(f"{base}/health")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        body = json.dumps(EVENT).encode()
        wall, lat = _hammer(f"{base}/api/v1/yclients/webhook/{SECRET}", requests, concurrency, body)
        base_wall, base_lat = _hammer(f"{base}/health", requests, concurrency, None)
    finally:
        server.terminate()
        server.wait()
    with engine.connect() as conn:
        landed = conn.execute(text("SELECT count(*) FROM yclients.webhook_events")).scalar_one()
    rate, base_rate = requests / wall, requests / base_wall
    show(
        f"webhook receiver: {requests:,} events, {concurrency} concurrent clients, loopback",
        [
            ("events in the queue", landed),
            ("events/s (each committed before the 2xx)", int(rate)),
            ("latency p50, ms", lat[len(lat) // 2] * 1000),
            ("latency p99, ms", lat[int(len(lat) * 0.99)] * 1000),
            ("baseline: /health (a read, no write) requests/s", int(base_rate)),
            ("baseline p99, ms", base_lat[int(len(base_lat) * 0.99)] * 1000),
            ("ratio durable ÷ no-write throughput", rate / base_rate),
        ],
    )
    return {"rate": rate, "p99_ms": lat[int(len(lat) * 0.99)] * 1000}
