"""Hostile input found to break the bad-data and paging rules (issue 20): each case fails on the code before
its fix."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, text

from ycpipeline.client import YClientsClient
from ycpipeline.serving import serve_in_thread
from ycpipeline.sync.records import sync_records
from ycpipeline_tests.clients import client_options
from ycpipeline_tests.hostile_api import HostileApi, record

MSK = ZoneInfo("Europe/Moscow")
WINDOW = (date(2026, 11, 1), date(2026, 11, 30))


@pytest.fixture
def odd_digits_url() -> Iterator[str]:
    # str.isdigit() is true for "²", lstrip("-") hid "--5", and int() reads at most 4300 digits of text: each
    # raised ValueError, which failed the whole window instead of quarantining these records.
    api = HostileApi(
        records=[
            record(301, visit_id="²"),
            record(302, visit_id="--5"),
            record(304, visit_id="9" * 5000),
            record(303),
        ]
    )
    with serve_in_thread(api) as base:
        yield f"{base}/api/v1"


def test_ids_of_odd_digits_are_quarantined_and_the_sound_record_loads(
    engine: Engine, odd_digits_url: str
) -> None:
    options = client_options(page_size=10, backoff_base=0.01)
    with YClientsClient(odd_digits_url, SecretStr("partner-token-0000"), options=options) as client:
        result = sync_records(client, engine, 235564, MSK, *WINDOW)
    assert result.rejected == 3
    with engine.connect() as conn:
        loaded = set(conn.execute(text("SELECT record_id FROM yclients.records")).scalars())
        rejected = dict(
            conn.execute(
                text("SELECT source_key, reasons FROM yclients.rejected_rows WHERE entity = 'records'")
            ).all()
        )
    assert loaded == {303}
    assert set(rejected) == {"301", "302", "304"}
    assert any("visit_id" in reason for reason in rejected["301"])
    assert any("visit_id" in reason for reason in rejected["302"])
    assert any("visit_id" in reason for reason in rejected["304"])
