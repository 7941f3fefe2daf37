"""Hostile input found to break the bad-data and paging rules (issue 20): each case fails on the code before
its fix."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from zoneinfo import ZoneInfo

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, text

from ycpipeline.client import YClientsClient
from ycpipeline.client.paging import Page, Pager
from ycpipeline.normalize.values import raw_json
from ycpipeline.serving import serve_in_thread
from ycpipeline.sync.records import sync_records
from ycpipeline.webhooks.receiver import WEBHOOK_PATH, create_receiver
from ycpipeline_tests.support.clients import client_options
from ycpipeline_tests.support.hostile_api import HostileApi, record

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


@pytest.mark.parametrize("announced", [0, -1, 3])
def test_a_total_count_below_what_the_first_page_brought_is_not_trusted(announced: int) -> None:
    # A full first page of 10 while total_count says fewer: the count is wrong, so the listing must page on
    # to a short page, not stop after page 1 and call itself complete (which retires everything after it).
    pager = Pager(10)
    first = Page(1, [{"id": n} for n in range(10)], announced)
    assert pager.plan(first) is None
    assert not pager.complete
    assert pager.next_page(first) == 2
    last = Page(2, [{"id": n} for n in range(10, 14)], announced)
    assert pager.next_page(last) is None
    assert pager.complete


def test_a_denied_key_hiding_a_nul_is_cut_from_raw() -> None:
    # raw_json removes NUL characters from keys, which turned "inn\x00" into "inn" after the deny-list ran.
    kept = raw_json({"id": 1, "employee": {"inn\x00": "7707083893", "PASSPORT\x00_DATA": "4510 123456"}})
    assert "7707083893" not in kept
    assert "4510 123456" not in kept


@pytest.fixture
def receiver(engine: Engine) -> Iterator[str]:
    secret = "hook-secret-1a2b3c4d5e6f"
    with serve_in_thread(create_receiver(engine, secret)) as base:
        yield f"{base}{WEBHOOK_PATH}/{secret}"


def test_a_body_that_is_no_json_keeps_no_denied_value(engine: Engine, receiver: str) -> None:
    # Only a string or bare value after a quoted key was masked: an object's or a list's contents, single
    # quotes and a form's `inn=` were kept as sent.
    cut_off = '{"resource": "staff", "data": {"name": "Анна", "passport_data": {"series": "4510", "number": "123456"}'
    bodies = [
        cut_off,
        '{"resource": "staff", "snils": ["112-233-445 95"], "data": {"name": "Анна"}, ',
        "{'resource': 'staff', 'inn': '771234567890'}",
        "resource=staff&inn=771234567890&name=Anna",
    ]
    for body in bodies:
        answer = httpx.post(receiver, content=body, headers={"content-type": "application/json"})
        assert answer.status_code == 400
    with engine.connect() as conn:
        heads = (
            conn.execute(text("SELECT raw->>'unparsed' FROM yclients.rejected_rows ORDER BY 1"))
            .scalars()
            .all()
        )
    assert len(heads) == len(bodies)
    for head in heads:
        assert not [value for value in ("4510", "123456", "112-233-445", "771234567890") if value in head], (
            head
        )
    assert any("Анна" in head for head in heads)


@pytest.mark.parametrize(
    "items",
    [
        [{"id": 1}, "not an object", {"id": 3}],
        [{"id": 1}, {"name": "no id"}, {"id": 3}],
        [{"id": 1}, {"id": "1"}, {"id": 3}],
    ],
)
def test_a_slot_taken_by_no_object_or_the_same_id_leaves_the_listing_incomplete(items: list[object]) -> None:
    # total_count 3 and three items, but only two objects arrived: the third one (id 2) is missing, so
    # nothing may be retired. A non-object, an object without id and "1" beside 1 each counted as one more.
    pager = Pager(10)
    assert pager.plan(Page(1, items, 3)) == range(0)
    assert not pager.complete
    assert pager.shortfall() == "total_count 3 but 2 distinct objects arrived (3 rows)"
