"""The sandbox's `changed_after`/`changed_before` filter: offsets honoured, both readings of an offset-less
value, every mutation bumps the change time, and the deletion knob."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import httpx
import pytest

from ycpipeline.client.http import ACCEPT_V2
from ycpipeline_sandbox import DEFAULT_PARTNER_TOKEN, DEFAULT_USER_TOKEN, Sandbox
from ycpipeline_tests.conftest import ANCHOR

HEADERS = {
    "Accept": ACCEPT_V2,
    "Authorization": f"Bearer {DEFAULT_PARTNER_TOKEN}, User {DEFAULT_USER_TOKEN}",
}
WIDE = {"start_date": "2024-01-01", "end_date": "2027-12-31", "with_deleted": 1, "count": 300}


def _changed_ids(base: str, **params: object) -> set[int]:
    response = httpx.get(f"{base}/records/235564", params={**WIDE, **params}, headers=HEADERS)
    assert response.status_code == 200, response.text
    return {int(r["id"]) for r in response.json()["data"]}


def _a_record(sandbox: Sandbox, days_back: int) -> int:
    return next(
        r["id"]
        for r in sandbox.state.day_records(235564, ANCHOR - timedelta(days=days_back))
        if not r["deleted"]
    )


def test_generated_history_never_changes_after_the_anchor_day_began(sandbox: Sandbox) -> None:
    start_of_anchor = datetime.combine(ANCHOR, time(0), sandbox.state.timezone(235564))
    stamps = [
        datetime.strptime(r["last_change_date"], "%Y-%m-%dT%H:%M:%S%z")
        for r in sandbox.state.iter_records(235564, ANCHOR - timedelta(days=5), ANCHOR + timedelta(days=20))
    ]
    assert stamps and max(stamps) <= start_of_anchor


@pytest.mark.parametrize("reading", ["local", "utc"])
def test_offsetless_value_is_read_as_configured_and_offsets_always_work(
    sandbox: Sandbox, sandbox_url: str, reading: str
) -> None:
    sandbox.reconfigure(changed_after_reading=reading)
    before = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=2)
    record = _a_record(sandbox, 10)
    sandbox.state.set_attendance(235564, record, -1)
    # With an offset the instant is unambiguous, whatever the reading.
    assert _changed_ids(sandbox_url, changed_after=before.isoformat()) == {record}
    assert _changed_ids(sandbox_url, changed_after=before.astimezone().strftime("%Y-%m-%dT%H:%M:%S%z")) == {
        record
    }
    assert _changed_ids(sandbox_url, changed_after=(before + timedelta(minutes=5)).isoformat()) == set()
    # Without an offset: the wall clock of UTC finds it under both readings (Moscow is ahead of UTC);
    # the wall clock of Moscow finds it only when the server reads local time.
    utc_wall = before.strftime("%Y-%m-%dT%H:%M:%S")
    msk_wall = before.astimezone(sandbox.state.timezone(235564)).strftime("%Y-%m-%dT%H:%M:%S")
    assert _changed_ids(sandbox_url, changed_after=utc_wall) == {record}
    assert _changed_ids(sandbox_url, changed_after=msk_wall) == ({record} if reading == "local" else set())
    assert record not in _changed_ids(sandbox_url, changed_before=utc_wall)


@pytest.mark.parametrize("bumps", [True, False])
def test_deletion_bumps_the_change_time_only_when_configured(
    sandbox: Sandbox, sandbox_url: str, bumps: bool
) -> None:
    sandbox.reconfigure(delete_bumps_change_time=bumps)
    before = datetime.now(UTC) - timedelta(seconds=2)
    edited, deleted = _a_record(sandbox, 40), _a_record(sandbox, 41)
    sandbox.state.set_service_cost(235564, edited, "10.00")
    sandbox.state.delete_record(235564, deleted)
    found = _changed_ids(sandbox_url, changed_after=before.isoformat())
    assert found == ({edited, deleted} if bumps else {edited})
    assert sandbox.state.get_record(235564, deleted)["deleted"] is True


def test_a_malformed_bound_is_a_400_not_a_500(sandbox_url: str) -> None:
    response = httpx.get(
        f"{sandbox_url}/records/235564", params={**WIDE, "changed_after": "yesterday"}, headers=HEADERS
    )
    assert response.status_code == 400
