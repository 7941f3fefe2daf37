"""The newcomer's path: `cp .env.example .env && make demo` works, whatever the example holds."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ycpipeline.serving import free_port
from ycpipeline.settings import Settings
from ycpipeline.warehouse.embedded import EmbeddedPostgres

EXAMPLE = Path(__file__).parents[2] / ".env.example"
ASSIGNMENT = re.compile(r"^#\s*([A-Z][A-Z0-9_]*)=(.*)$")


def _example_filled_in() -> str:
    """`.env.example` as someone about to use the real API leaves it: every line uncommented, and the
    blanks filled with values that would send the demo elsewhere if it read them."""
    filled = {
        "YCLIENTS_COMPANY_ID": "235564",
        "YCLIENTS_API_TOKEN": "partner-token",
        "YCLIENTS_USER_TOKEN": "user-token",
        "YCLIENTS_WEBHOOK_SECRET": "secret",
        "YCLIENTS_RATE_LIMIT_KEY": "office",
    }
    lines = []
    for line in EXAMPLE.read_text().splitlines():
        match = ASSIGNMENT.match(line)
        if match:
            key, value = match.groups()
            line = f"{key}={filled.get(key, value)}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def test_the_example_configuration_keeps_the_defaults_of_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A commented line of `.env.example` shows the default; uncommenting it must change nothing."""
    monkeypatch.chdir(tmp_path)  # no .env here
    shown = 0
    for line in EXAMPLE.read_text().splitlines():
        match = ASSIGNMENT.match(line)
        if not match or not match.group(2):
            continue
        field = match.group(1).lower()
        assert field in Settings.model_fields, f"{match.group(1)} is not a setting"
        default = Settings.model_fields[field].default
        if default is None:
            continue  # an example value for a setting without a default
        assert getattr(Settings(**{field: match.group(2)}), field) == default, match.group(1)
        shown += 1
    assert shown >= 15


def test_the_demo_runs_with_the_example_configuration_filled_in(tmp_path: Path) -> None:
    """With `.env` from the example (real API, a warehouse that is not running) and WAREHOUSE_URL in the
    environment, the demo still uses its own sandbox and embedded Postgres, and stops the cluster."""
    project = tmp_path / "project"
    project.mkdir()
    (project / ".env").write_text(_example_filled_in())
    data_dir = Path("var").resolve() / f"test-demo-{os.getpid()}"
    env = {
        **os.environ,
        "WAREHOUSE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/nothing",
        "DAGSTER_HOME": str(tmp_path / "elsewhere"),
    }
    ycpipeline = Path(sys.executable).parent / "ycpipeline"
    try:
        done = subprocess.run(
            [str(ycpipeline), "demo", "--days-back", "3", "--days-ahead", "1", "--data-dir", str(data_dir)],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        said = " ".join(done.stdout.split())
        assert done.returncode == 0, done.stdout + done.stderr
        assert "✅ company 235564: changes: fetched" in said
        assert "ledger invariant: holds" in said
        # The nightly streams ran, so every mart has something to say.
        marts = said[said.index("What the marts show") :]
        assert re.search(r"completed visits, last 30 days\s*│\s*[1-9]", marts), marts
        assert re.search(r"staff occupancy\s*│\s*[1-9][0-9.]*%", marts), marts
        assert re.search(r"clients by status\s*│\s*\w+ [1-9]", marts), marts
        assert "—" not in marts, marts  # every figure computed
        assert not re.search(r"outstanding points\s*│\s*0(\.00)?\s*│", marts), marts
        assert "users 1000 and 9000 sharing one phone on purpose" in said
        # The app at the till: a spend and an open hold, through the wallet's SQL functions.
        assert re.search(r"at the till: user \d+ spends [0-9.]+ points .* holds [0-9.]+", said), said
        points = said[said.index("What the bonus wallet shows") :]
        assert re.search(r"points spent\s*│\s*[1-9]", points), points
        assert re.search(r"points held \(open holds\)\s*│\s*[1-9]", points), points
        assert re.search(r"points expired\s*│\s*[0-9]", points), points
        assert not (data_dir / "postgres" / "postmaster.pid").exists()  # the cluster was stopped
        assert not (tmp_path / "elsewhere").exists()  # the demo's runs went to its own instance
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def test_a_killed_demo_stops_the_postgres_it_started(tmp_path: Path) -> None:
    """A SIGTERM (a terminal closed, `kill`) while the demo works ends it as Ctrl-C does: its cluster stops."""
    data_dir = Path("var").resolve() / f"test-demo-kill-{os.getpid()}"
    port = free_port()
    cluster = EmbeddedPostgres(data_dir / "postgres", port)
    ycpipeline = Path(sys.executable).parent / "ycpipeline"
    demo = subprocess.Popen(
        [str(ycpipeline), "demo", "--days-back", "3", "--data-dir", str(data_dir), "--pg-port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not cluster.is_running():
            assert demo.poll() is None and time.monotonic() < deadline, "the demo never started Postgres"
            time.sleep(0.2)
        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=120)
        assert not cluster.is_running()
        assert not (data_dir / "postgres" / "postmaster.pid").exists()
    finally:
        demo.kill()
        demo.wait()
        cluster.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
