"""Shared helpers of the benchmark suite: a warehouse to measure in, in-memory pages, printing."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, create_engine, text

from ycpipeline.client import ClientOptions, RecordFilters, RecordsPage
from ycpipeline.client.http import RequestStats
from ycpipeline.settings import Settings
from ycpipeline.warehouse.embedded import EmbeddedPostgres
from ycpipeline.warehouse.migrate import upgrade
from ycpipeline_sandbox import DEFAULT_PARTNER_TOKEN, DEFAULT_USER_TOKEN, GenerationParams, SandboxState

# The sandbox's "today" is the real today, as the pipeline's is.
ANCHOR = datetime.now(ZoneInfo("Europe/Moscow")).date()
COMPANY = 235564
TRUNCATE = (
    "yclients.records, yclients.record_services, yclients.rejected_rows, yclients.sync_log, "
    "loyalty.bonus_ledger, loyalty.app_users, loyalty.ledger_queue, loyalty.ledger_state, "
    "yclients.tracked_companies"
)


PRIVATE_POSTGRES_DIR = Path("var/bench-postgres")


@contextmanager
def warehouse(url: str | None, private_port: int) -> Iterator[Engine]:
    """The bench database for the block: `url`, else a private cluster in var/bench-postgres on
    `private_port`, stopped when the block ends, also on an error or Ctrl-C."""
    with ExitStack() as cleanup:
        if not url:
            private = EmbeddedPostgres(PRIVATE_POSTGRES_DIR, private_port)
            # Registered before the start: an interrupt while it starts still stops it.
            cleanup.callback(private.stop)
            private.start(("bench",))
            url = private.url("bench")
        engine = create_engine(url, hide_parameters=True)
        cleanup.callback(engine.dispose)
        upgrade(engine)
        yield engine


def client_options(**changes: Any) -> ClientOptions:
    """The settings' client options (environment only, no `.env`), with the bench's changes."""
    return Settings(_env_file=None).client_options().adjusted(**changes)


def empty(engine: Engine) -> None:
    """Start a measurement from an empty warehouse."""
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {TRUNCATE}"))


@contextmanager
def timer() -> Iterator[list[float]]:
    """`with timer() as t: …` then `t[0]` holds the seconds."""
    box: list[float] = []
    start = time.perf_counter()
    yield box
    box.append(time.perf_counter() - start)


def history(records: int, per_day: int = 900) -> tuple[SandboxState, date, date]:
    """A sandbox state and the window [start, ANCHOR] that holds about `records` records."""
    state = SandboxState(
        GenerationParams(seed=11, records_per_day=per_day, anchor=ANCHOR), days_back=5000, days_ahead=0
    )
    total, day = 0, ANCHOR
    while total < records:
        total += state.day_count(COMPANY, day)
        day -= timedelta(days=1)
    return state, day + timedelta(days=1), ANCHOR


class MemoryPages:
    """Quacks like `YClientsClient` for `sync_records`, serving pages from a list (no HTTP)."""

    def __init__(self, raw: list[dict[str, Any]], page_size: int = 200) -> None:
        self.raw = raw
        self.page_size = page_size
        self.stats = RequestStats()

    def iter_record_pages(self, company_id: int, filters: RecordFilters) -> Iterator[RecordsPage]:
        for n, i in enumerate(range(0, max(len(self.raw), 1), self.page_size), start=1):
            yield RecordsPage(n, self.raw[i : i + self.page_size], len(self.raw))

    def get_record(self, company_id: int, record_id: int) -> dict[str, Any] | None:
        return None


def show(title: str, rows: list[tuple[str, Any]]) -> None:
    """Print one section: a title and aligned name/value lines."""
    print(f"\n== {title}")
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        shown = (
            f"{value:,.3f}" if isinstance(value, float) else f"{value:,}" if isinstance(value, int) else value
        )
        print(f"  {name.ljust(width)}  {shown}")


@contextmanager
def pipeline_settings(api_base: str, engine: Engine, companies: Iterable[int]) -> Iterator[None]:
    """The settings of an in-process sync pointed at the bench's sandbox and warehouse, with a throw-away
    DAGSTER_HOME (telemetry off) for the block."""
    with tempfile.TemporaryDirectory() as home:
        Path(home, "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        os.environ.update(
            {
                "YCLIENTS_API_URL": f"{api_base}/api/v1",
                "YCLIENTS_API_TOKEN": DEFAULT_PARTNER_TOKEN,
                "YCLIENTS_USER_TOKEN": DEFAULT_USER_TOKEN,
                "YCLIENTS_COMPANY_ID": ",".join(map(str, companies)),
                "WAREHOUSE_URL": engine.url.render_as_string(hide_password=False),
                "DAGSTER_HOME": home,
                "YCLIENTS_PAGE_SIZE": "200",
            }
        )
        yield
