"""Paging that adapts and always ends: a server-side page cap, the official total_count-10-with-2-rows
example (served verbatim over loopback HTTP), and paging drift. A window never fails forever: a stable
mismatch loads what came, drift loads the last pass, and the records count check reports both."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from sqlalchemy import Engine, text
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from ycpipeline.client import RecordsPage
from ycpipeline.client.http import RequestStats
from ycpipeline.serving import serve_in_thread
from ycpipeline.sync.records import sync_records
from ycpipeline_sandbox import Sandbox, sandbox_client
from ycpipeline_tests.conftest import ANCHOR
from ycpipeline_tests.support.clients import client_options
from ycpipeline_tests.support.records import expected_records, stored_records

MSK = ZoneInfo("Europe/Moscow")
SAMPLES = Path(__file__).parents[1] / "samples"
OFFICIAL = json.loads((SAMPLES / "official_records_list.json").read_text())["body"]
OFFICIAL_DAY = date(2019, 1, 16)


class OfficialRecords:
    """Serves the official records example for one company's list, and passes the rest to `rest`."""

    def __init__(self, company_id: int, later_pages: str, rest: Any = None) -> None:
        self.path = f"/api/v1/records/{company_id}"
        self.later_pages = later_pages  # "repeat": the same body again; "empty": no rows, same meta
        self.rest = rest
        self.pages_asked: list[int] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].rstrip("/") == self.path:
            query = parse_qs(scope["query_string"].decode())
            page = int(query.get("page", ["1"])[0])
            self.pages_asked.append(page)
            body = OFFICIAL if page == 1 or self.later_pages == "repeat" else {**OFFICIAL, "data": []}
            await JSONResponse(body)(scope, receive, send)
        elif self.rest is not None:
            await self.rest(scope, receive, send)
        else:
            await JSONResponse({"success": False, "data": None, "meta": {"message": "Не найдено"}}, 404)(
                scope, receive, send
            )


def test_a_page_cap_below_the_page_size_is_followed(
    sandbox_url: str, engine: Engine, sandbox: Sandbox
) -> None:
    sandbox.reconfigure(page_size_cap=30, rate_per_second=None, rate_per_minute=None)
    start, end = ANCHOR - timedelta(days=14), ANCHOR
    with sandbox_client(sandbox_url, options=client_options(page_size=50, backoff_base=0.01)) as client:
        result = sync_records(client, engine, 235564, MSK, start, end)
    expected = expected_records(sandbox, start, end)
    assert len(expected) > 4 * 30
    assert stored_records(engine) == expected
    assert (result.passes, result.count_mismatch) == (1, None)
    assert client.stats.pages == -(-len(expected) // 30)


@pytest.mark.parametrize("later_pages", ["repeat", "empty"])
def test_the_official_example_loads_both_rows_and_reports_the_mismatch(
    later_pages: str, engine: Engine
) -> None:
    server = OfficialRecords(4564, later_pages)
    with (
        serve_in_thread(server) as base,
        sandbox_client(f"{base}/api/v1", options=client_options(page_size=50)) as client,
    ):
        result = sync_records(client, engine, 4564, MSK, OFFICIAL_DAY, OFFICIAL_DAY)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT record_id FROM yclients.records ORDER BY 1")).scalars().all()
    assert stored == [2, 9]
    assert (result.fetched, result.api_total_count, result.count_mismatch) == (2, 10, "stable")
    # Page 1 says 2 rows of 10: page 2 is asked once per pass, shows nothing new, and paging stops.
    assert server.pages_asked == [1, 2, 1, 2]


def test_pages_that_keep_changing_load_the_last_pass_and_say_so(engine: Engine, sandbox: Sandbox) -> None:
    day = ANCHOR - timedelta(days=2)
    records = sandbox.state.day_records(235564, day)

    class Drifting:
        """Every pass lists one record fewer while total_count stays put."""

        page_size, stats, passes = 100, RequestStats(), 0

        def iter_record_pages(self, *args: Any, **kwargs: Any) -> Iterator[RecordsPage]:
            self.passes += 1
            yield RecordsPage(1, records[self.passes :], len(records))

        def get_record(self, *args: Any) -> None:
            return None

    listing = Drifting()
    result = sync_records(listing, engine, 235564, MSK, day, day)  # type: ignore[arg-type]
    assert (result.passes, result.count_mismatch, listing.passes) == (3, "drift", 3)
    assert set(stored_records(engine)) == {r["id"] for r in records[3:]}


def test_the_count_check_fails_naming_the_company_and_the_numbers(
    dagster_env: Path, engine: Engine, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ycpipeline.cli.runs import run_job
    from ycpipeline.defs.automation.planning import window_runs

    server = OfficialRecords(235564, "empty", rest=sandbox)
    with serve_in_thread(server) as base:
        monkeypatch.setenv("YCLIENTS_API_URL", f"{base}/api/v1")
        (window,) = window_runs([[235564]], ANCHOR, ANCHOR, "test")
        result = run_job(window.job_name, tags=window.tags, run_config=window.run_config)
    check = next(
        e for e in result.get_asset_check_evaluations() if e.check_name == "records_count_matches_api"
    )
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert check.description is not None
    assert "company 235564" in check.description
    assert "total_count 10" in check.description and "listed 2 records" in check.description
    with engine.connect() as conn:  # what came is kept: dated 2019, outside the window, so quarantined
        assert not conn.execute(text("SELECT count(*) FROM yclients.records")).scalar_one()
        kept = dict(conn.execute(text("SELECT source_key, reasons::text FROM yclients.rejected_rows")).all())
    assert set(kept) == {"2", "9"}
    assert all(f"outside the requested window {ANCHOR}..{ANCHOR}" in r for r in kept.values())
