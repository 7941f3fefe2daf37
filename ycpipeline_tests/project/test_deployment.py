"""Deployment files: dagster.yaml on Postgres, workspace.yaml, docker-compose, README ↔ CI."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import yaml
from sqlalchemy import make_url

from ycpipeline_tests.support.databases import recreate_database

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_dagster_yaml_stores_runs_in_postgres(
    warehouse_url: str, worker_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = make_url(warehouse_url)
    name = f"dagster_{worker_id}"
    recreate_database(warehouse_url, name)
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    for key, value in {
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_HOST": url.host,
        "DAGSTER_PG_PORT": str(url.port),
        "DAGSTER_PG_USER": url.username,
        "DAGSTER_PG_PASSWORD": url.password or "",
        "DAGSTER_PG_DB": name,
    }.items():
        monkeypatch.setenv(key, value)

    @dg.op
    def hello() -> int:
        return 1

    @dg.job
    def probe() -> None:
        hello()

    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        result = probe.execute_in_process(instance=instance)
        assert instance.get_run_by_id(result.run_id).is_success
    with dg.DagsterInstance.get() as reopened:  # read back through a fresh instance
        assert reopened.get_run_by_id(result.run_id).job_name == "probe"


def test_workspace_yaml_loads(dagster_env: Path) -> None:
    done = subprocess.run(
        [str(BIN / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_every_service_and_no_shared_volume_but_postgres() -> None:
    compose = _compose()
    services = compose["services"]
    assert {"postgres", "migrate", "code", "webserver", "daemon", "webhooks"} <= set(services)
    assert services["webserver"]["ports"] == ["3000:3000"] and services["webhooks"]["ports"] == ["9003:9003"]
    # The webhook queue is in Postgres: receivers, code server and daemon share no volume.
    for name in ("code", "daemon", "webhooks", "migrate"):
        assert not services[name].get("volumes"), name
        assert "YCLIENTS_WEBHOOK_INBOX" not in services[name].get("environment", {})
    assert set(compose["volumes"]) == {"pgdata"}
    assert services["webhooks"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "healthcheck" in services["postgres"]


@pytest.mark.skipif(
    shutil.which("docker-compose") is None, reason="docker-compose (Debian package) not installed"
)
def test_compose_file_validates(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("YCLIENTS_COMPANY_ID=1\n")
    shutil.copy(ROOT / "docker-compose.yml", tmp_path / "docker-compose.yml")
    done = subprocess.run(["docker-compose", "config", "-q"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("service", ["migrate", "code", "webserver", "daemon", "webhooks"])
def test_compose_commands_exist(service: str) -> None:
    command = _compose()["services"][service]["command"]
    words = [
        w for w in command[: next((i for i, w in enumerate(command) if w.startswith("-")), len(command))]
    ]
    done = subprocess.run(
        [str(BIN / words[0]), *words[1:], "--help"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_readme_commands_are_the_ones_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", readme, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in [line.strip() for line in ci.splitlines()]
