"""Shared fixtures: a real Postgres (one database per xdist worker) and the sandbox over loopback HTTP."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text

SANDBOX_COMPANIES = "235564,235565"
# The code location reads its partitions at import: configure it before anything imports it.
os.environ["YCLIENTS_COMPANY_ID"] = SANDBOX_COMPANIES
os.environ.setdefault("YCLIENTS_PARTITION_TIMEZONE", "Europe/Moscow")

from ycpipeline.client import YClientsClient  # noqa: E402
from ycpipeline.serving import serve_in_thread  # noqa: E402
from ycpipeline.warehouse.embedded import EmbeddedPostgres  # noqa: E402
from ycpipeline.warehouse.migrate import upgrade  # noqa: E402
from ycpipeline_sandbox import (  # noqa: E402
    DEFAULT_PARTNER_TOKEN,
    DEFAULT_USER_TOKEN,
    GenerationParams,
    Sandbox,
    SandboxConfig,
    SandboxState,
    sandbox_client,
)
from ycpipeline_tests.support.clients import client_options  # noqa: E402
from ycpipeline_tests.support.databases import recreate_database  # noqa: E402

# "Today" of every sandbox in the suite is the real today, so the sandbox and the pipeline (which reads the wall
# clock for its reconciliation window, partitions and freshness) always agree; a fixed date here broke a test two
# weeks after it was written. Tests derive their dates from ANCHOR; none anchors a sandbox to a literal date.
ANCHOR = datetime.now(ZoneInfo("Europe/Moscow")).date()
TABLES = (
    "yclients.services",
    "yclients.staff",
    "yclients.records",
    "yclients.record_services",
    "yclients.rejected_rows",
    "yclients.sync_log",
    "yclients.schema_drift",
    "loyalty.app_users",
    "loyalty.app_user_phones",
    "loyalty.bonus_ledger",
    "loyalty.ledger_queue",
    "loyalty.ledger_state",
    "loyalty.bonus_policy",
    "yclients.webhook_events",
    "yclients.api_budget",
    "yclients.api_budget_slots",
    "yclients.sync_state",
    "yclients.companies",
    "yclients.tracked_companies",
    "yclients.service_categories",
    "yclients.payment_accounts",
    "yclients.record_payments",
    "yclients.finance_transactions",
    "yclients.goods_transactions",
    "yclients.clients",
    "yclients.staff_schedules",
    "marts.pending",
    "marts.branch_daily",
    "marts.staff_utilization_daily",
    "marts.client_lifecycle",
    "marts.loyalty_liability",
)


@pytest.fixture(autouse=True)
def _fresh_dagster_context() -> Iterator[None]:
    """Start each test without a definitions-state storage left behind by an earlier test's instance."""
    from dagster._core.storage.defs_state.base import set_defs_state_storage

    with set_defs_state_storage(None):
        yield


@pytest.fixture(scope="session")
def warehouse_url(worker_id: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database of this worker's own in the test Postgres."""
    base = os.environ.get("TEST_WAREHOUSE_URL")
    if not base:
        # Plain `pytest` (without scripts/test.sh): start a cluster and leave it up for the next run,
        # since xdist workers share it and none of them knows it is the last.
        pg = EmbeddedPostgres(Path("var/pytest-postgres"), 55438)
        pg.start(("ycpipeline_test",))
        base = pg.url("ycpipeline_test")
    url = recreate_database(base, f"ycp_{worker_id}")
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url


@pytest.fixture
def engine(warehouse_url: str) -> Iterator[Engine]:
    """The warehouse, emptied before each test."""
    eng = create_engine(warehouse_url)
    with eng.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY"))
    yield eng
    eng.dispose()


@pytest.fixture
def sandbox() -> Sandbox:
    """A two-company sandbox with a fixed "today", no rate limit (tests that need one set it)."""
    return Sandbox(
        SandboxState(
            GenerationParams(seed=7, records_per_day=12, anchor=ANCHOR),
            companies=2,
            days_back=60,
            days_ahead=20,
        ),
        SandboxConfig(rate_per_second=None, rate_per_minute=None),
    )


@pytest.fixture
def sandbox_url(sandbox: Sandbox) -> Iterator[str]:
    """The sandbox served over real HTTP on loopback; yields the API base URL."""
    with serve_in_thread(sandbox) as base:
        yield f"{base}/api/v1"


@pytest.fixture
def sandbox_http(sandbox_url: str) -> Iterator[httpx.Client]:
    """A plain HTTP client of the sandbox API sending the v2 Accept header and both tokens."""
    headers = {
        "Accept": "application/vnd.yclients.v2+json",
        "Authorization": f"Bearer {DEFAULT_PARTNER_TOKEN}, User {DEFAULT_USER_TOKEN}",
    }
    with httpx.Client(base_url=sandbox_url, headers=headers, timeout=10) as http:
        yield http


@pytest.fixture
def client(sandbox_url: str) -> Iterator[YClientsClient]:
    """A client of the sandbox with quick retries."""
    with sandbox_client(sandbox_url, options=client_options(page_size=50, backoff_base=0.01, timeout=5)) as c:
        yield c


@pytest.fixture
def dagster_env(
    sandbox_url: str, warehouse_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Environment for the code location: sandbox API, test warehouse, a fresh DAGSTER_HOME."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    for key, value in {
        "YCLIENTS_API_URL": sandbox_url,
        "YCLIENTS_API_TOKEN": DEFAULT_PARTNER_TOKEN,
        "YCLIENTS_USER_TOKEN": DEFAULT_USER_TOKEN,
        "YCLIENTS_COMPANY_ID": SANDBOX_COMPANIES,
        "WAREHOUSE_URL": warehouse_url,
        "DAGSTER_HOME": str(home),
        "YCLIENTS_PAGE_SIZE": "50",
        "YCLIENTS_BOOKING_FORM_URL": "https://n239661.yclients.com",
    }.items():
        monkeypatch.setenv(key, value)
    return home


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true", help="full-length fault loops (20 crashes instead of 5)")
