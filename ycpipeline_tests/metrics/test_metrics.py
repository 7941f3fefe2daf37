"""`/metrics` (Prometheus) on the webhook receiver and on `ycpipeline metrics serve`: scraped after a burst
of webhooks and a change-capture run, it shows the queue, the requests by status, the hold-offs after a
429, the watermarks' lag, the quarantine and the latest successful run of each job."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from ycpipeline.defs.automation.planning import changes_runs
from ycpipeline.metrics.runs import last_runs_from_env
from ycpipeline.serving import free_port, serve_in_thread
from ycpipeline.webhooks.receiver import WEBHOOK_PATH, create_receiver
from ycpipeline_sandbox import Fault, Sandbox
from ycpipeline_tests.support.alert_servers import wait_for
from ycpipeline_tests.support.helpers import event, execute, preload

SECRET = "metrics-secret-1a2b3c4d"
BURST = 40


def _scrape(base: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(f"{base}/metrics", timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_metrics_after_a_webhook_burst_and_a_sync(
    dagster_env: Path,
    engine: Engine,
    sandbox: Sandbox,
    sandbox_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    preload(sandbox_url, engine)
    with serve_in_thread(create_receiver(engine, SECRET, last_runs=last_runs_from_env())) as base:
        hook = f"{base}{WEBHOOK_PATH}/{SECRET}"
        with ThreadPoolExecutor(8) as pool:
            answers = list(
                pool.map(lambda i: httpx.post(hook, json=[event(10_000 + i)], timeout=30), range(BURST))
            )
        assert {a.status_code for a in answers} == {200}
        before = _scrape(base)
        assert before[("ycpipeline_webhook_events", (("status", "pending"),))] == BURST
        assert before[("ycpipeline_webhook_events", (("status", "done"),))] == 0
        assert before[("ycpipeline_webhook_oldest_pending_seconds", ())] >= 0
        assert ("ycpipeline_api_budget_paused_seconds_total", ()) in before

        sandbox.faults.add(Fault("status", status=429, times=1, path="/records/", retry_after=1))
        execute(changes_runs([[235564, 235565]], "cli")[0].run_request())
        started = time.perf_counter()
        after = _scrape(base)
        took = time.perf_counter() - started
    assert after[("ycpipeline_api_requests_total", (("status", "200"),))] > 0
    assert after[("ycpipeline_api_requests_total", (("status", "429"),))] == 1
    assert after[("ycpipeline_api_budget_paused_seconds_total", ())] >= 1
    assert {labels for name, labels in after if name == "ycpipeline_watermark_lag_seconds"} == {
        (("company_id", "235564"),),
        (("company_id", "235565"),),
    }
    assert after[("ycpipeline_last_run_success_timestamp", (("job", "changes_job"),))] > 0
    assert ("ycpipeline_webhook_events", (("status", "pending"),)) in after
    with capsys.disabled():
        print(f"\n/metrics scrape (warehouse + Dagster run storage): {took * 1000:.0f} ms")


def test_metrics_serve_answers_without_a_receiver(dagster_env: Path, engine: Engine) -> None:
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "ycpipeline"), "metrics", "serve", "--port", str(port)],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{base}/metrics", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        assert wait_for(up, 60)
        scraped = _scrape(base)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert scraped[("ycpipeline_webhook_events", (("status", "pending"),))] == 0
    assert ("ycpipeline_rejected_rows", (("entity", "webhook"),)) not in scraped  # nothing quarantined yet


@pytest.fixture(autouse=True)
def _no_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`ycpipeline` reads `.env` from its working directory: the tests' settings come from the environment."""
    monkeypatch.chdir(tmp_path)
