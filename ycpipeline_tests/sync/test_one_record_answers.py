"""A one-record answer is checked against what was asked.

Contract: when `GET /record/{company_id}/{record_id}` (re-reads by id of a window refresh, and of
webhook deletions in change capture) answers with another `id` or another `company_id` than asked, the
answer is refused with the reason in `yclients.rejected_rows` (entity `records`, keyed by the id asked
for) and written nowhere: the other record keeps what it holds, and the record asked for is neither
updated nor marked deleted. An answer that is no object at all is refused the same way, never read as
"gone". The sandbox serves the wrong answers over loopback HTTP (`served_fields`), a tiny API the
empty one.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import SecretStr
from sqlalchemy import Engine, text

from ycpipeline.client import YClientsClient
from ycpipeline.serving import serve_in_thread
from ycpipeline.sync.changes import ChangePolicy, capture_changes
from ycpipeline.sync.companies import company_timezone
from ycpipeline.sync.records import sync_records
from ycpipeline_sandbox import Sandbox
from ycpipeline_tests.conftest import ANCHOR
from ycpipeline_tests.support.clients import client_options
from ycpipeline_tests.support.helpers import preload
from ycpipeline_tests.support.hostile_api import HostileApi, record

COMPANY, OTHER_COMPANY = 235564, 235565
POLICY = ChangePolicy(date(2024, 1, 1), horizon_days=365, overlap=timedelta(minutes=10))


def _stored(engine: Engine, *record_ids: int) -> dict[int, tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("""SELECT record_id, visit_date, starts_at, attendance, deleted, raw FROM yclients.records
                    WHERE company_id = :c AND record_id = ANY(:ids)"""),
            {"c": COMPANY, "ids": list(record_ids)},
        ).all()
    return {r[0]: tuple(r[1:]) for r in rows}


def _rejected(engine: Engine) -> dict[str, list[str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT source_key, reasons FROM yclients.rejected_rows WHERE entity = 'records'")
        ).all()
    return {str(key): reasons for key, reasons in rows}


def _two_records(sandbox: Sandbox, day: date) -> tuple[int, int]:
    found = [r["id"] for r in sandbox.state.day_records(COMPANY, day) if not r["deleted"]]
    assert len(found) >= 2
    return found[0], found[1]


def test_a_deletion_reread_answered_with_another_id_overwrites_nothing(
    sandbox: Sandbox, sandbox_url: str, client: YClientsClient, engine: Engine
) -> None:
    preload(sandbox_url, engine, (COMPANY,))
    asked, other = _two_records(sandbox, ANCHOR - timedelta(days=4))
    before = _stored(engine, asked, other)
    # A deletion that keeps its change time: only the re-read by id (the webhook's) can see it.
    sandbox.reconfigure(delete_bumps_change_time=False, served_fields={"record": {asked: {"id": other}}})
    sandbox.state.delete_record(COMPANY, asked)

    result = capture_changes(
        client, engine, COMPANY, company_timezone(client, engine, COMPANY), POLICY, reread_ids=[asked]
    )

    assert result.reread == 1 and result.rejected == 1
    assert _stored(engine, asked, other) == before  # neither the other record nor the one asked for
    reasons = _rejected(engine)[str(asked)]
    assert reasons == [f"id: the answer is record {other}, not record {asked} asked for"]


def test_a_window_reread_answered_for_another_company_is_refused(
    sandbox: Sandbox, client: YClientsClient, engine: Engine
) -> None:
    day = ANCHOR - timedelta(days=4)
    zone = company_timezone(client, engine, COMPANY)
    sync_records(client, engine, COMPANY, zone, day, day)
    moved, _ = _two_records(sandbox, day)
    before = _stored(engine, moved)
    # Moved out of the window: the refresh re-reads it by id, and the answer names another company.
    sandbox.state.move_record(
        COMPANY, moved, datetime.combine(day + timedelta(days=7), datetime.min.time(), zone)
    )
    sandbox.reconfigure(served_fields={"record": {moved: {"company_id": OTHER_COMPANY}}})

    result = sync_records(client, engine, COMPANY, zone, day, day)

    assert (result.rejected, result.deleted, result.moved_out) == (1, 0, 0)
    assert _stored(engine, moved) == before
    reasons = _rejected(engine)[str(moved)]
    assert reasons == [
        f"company_id: the answer is of company {OTHER_COMPANY}, not company {COMPANY} asked for"
    ]


def test_a_reread_answered_with_no_object_marks_nothing_deleted(engine: Engine) -> None:
    api = HostileApi(records=[record(301), record(302)])
    zone = ZoneInfo("Europe/Moscow")
    day = date.fromisoformat(str(api.records[0]["date"])[:10])
    with (
        serve_in_thread(api) as base,
        YClientsClient(
            f"{base}/api/v1", SecretStr("partner-token-0000"), options=client_options(backoff_base=0.01)
        ) as client,
    ):
        sync_records(client, engine, COMPANY, zone, day, day)
        api.records = [record(302)]  # 301 is no longer listed: re-read by id, answered with `data: []`
        api.answers[301] = []
        result = sync_records(client, engine, COMPANY, zone, day, day)
    assert (result.rejected, result.deleted, api.rereads) == (1, 0, 1)
    with engine.connect() as conn:
        deleted = conn.execute(
            text("SELECT deleted FROM yclients.records WHERE record_id = 301")
        ).scalar_one()
    assert deleted is False
    assert _rejected(engine)["301"] == ["the answer [] is not a record object (record 301 was asked for)"]
