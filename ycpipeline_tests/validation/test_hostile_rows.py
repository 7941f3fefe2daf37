"""One hostile object never stops a window: every value is checked against its column's SQL type and
domain, each hostile record lands in `yclients.rejected_rows` with its reason, the sound ones load, and
`raw` is stored (cleaned) whatever it holds. Served over loopback HTTP by a tiny API (support/hostile_api.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, text

from ycpipeline.client import YClientsClient
from ycpipeline.serving import serve_in_thread
from ycpipeline.sync.records import sync_records
from ycpipeline.sync.streams import SERVICES, STAFF
from ycpipeline_tests.support.clients import client_options
from ycpipeline_tests.support.hostile_api import GOOD_RECORD, GOOD_SERVICE, GOOD_STAFF, HostileApi, record
from ycpipeline_tests.support.stream_loads import load

MSK = ZoneInfo("Europe/Moscow")
WINDOW = (date(2026, 11, 1), date(2026, 11, 30))


def _line(**changes: Any) -> dict[str, Any]:
    return {
        "id": 9120034,
        "title": "Стрижка",
        "cost": 100,
        "first_cost": 100,
        "discount": 0,
        "amount": 1,
        **changes,
    }


# record id → (fields replaced, a word the rejection reason must contain)
HOSTILE_RECORDS: dict[int, tuple[dict[str, Any], str]] = {
    101: ({"client": {"id": 2**63, "name": "Мария", "phone": "+79160000001"}}, "client_id"),
    102: ({"staff_id": 2**64 + 5}, "staff_id"),
    103: ({"services": [_line(amount=3_000_000_000)]}, "amount"),
    104: ({"services": [_line(discount=100_000)]}, "discount"),
    105: ({"services": [_line(first_cost=1e11)]}, "first_cost"),
    106: ({"services": [_line(cost=1e11)]}, "cost"),
    107: ({"services": [_line(cost=9e9), _line(id=2, cost=9e9)]}, "total_cost"),
    108: ({"attendance": 7}, "attendance"),
    109: ({"seance_length": 2**40}, "duration_seconds"),
    110: ({"date": "31.12.1899", "datetime": "1899-12-31T10:00:00+03:00"}, "visit_date"),
    111: ({"comment": "код AB12CD\x00"}, "comment"),
    112: ({"comment": "букет \ud83d"}, "comment"),
    113: ({"client": {"id": 5, "name": "\udc00Мария", "phone": "+79160000001"}}, "client_name"),
    114: ({"visit_attendance": 5}, "visit_attendance"),
    115: ({"services": [_line(cost="100.005")]}, "cost"),
    116: ({"record_labels": "важная"}, "record_labels"),
    117: ({"visit_id": "abc"}, "visit_id"),
    118: ({"services": [_line(cost=-5)]}, "negative"),
    119: ({"online": "maybe"}, "online"),
    120: ({"services": [_line(discount="ten")]}, "discount"),
    121: ({"create_date": "вчера"}, "create_date"),
    122: ({"payment_status": "paid_full"}, "payment_status"),
    # At the calendar's edge: year 0 in UTC, with no readable `date` to fall back on.
    123: ({"date": None, "datetime": "0001-01-01T01:00:00+05:00"}, "datetime"),
    124: ({"services": [_line(cost="1e999999999")]}, "cost"),
}
# Sound records whose `raw` holds what jsonb cannot: they load, with `raw` cleaned.
ODD_RAW = record(
    201, custom_fields={"note": "a\x00b", "broken": "x\udc00", "big": 2**70, "nan": float("nan")}
)


@pytest.fixture
def api() -> HostileApi:
    hostile = [record(rid, **changes) for rid, (changes, _) in HOSTILE_RECORDS.items()]
    # 203: a zero date is YClients' "none", not a malformed date.
    zero_date = record(203, last_change_date="0000-00-00 00:00:00")
    return HostileApi(records=[*hostile, ODD_RAW, record(202), zero_date, record(2**63)])


@pytest.fixture
def api_url(api: HostileApi) -> Iterator[str]:
    with serve_in_thread(api) as base:
        yield f"{base}/api/v1"


def _client(url: str) -> YClientsClient:
    return YClientsClient(
        url, SecretStr("partner-token-0000"), options=client_options(page_size=10, backoff_base=0.01)
    )


def _rejected(engine: Engine, entity: str) -> dict[str, list[str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT source_key, reasons FROM yclients.rejected_rows WHERE entity = :e"), {"e": entity}
        ).all()
    return {key: reasons for key, reasons in rows}


def test_each_hostile_record_is_quarantined_with_its_reason_and_the_sound_ones_load(
    engine: Engine, api_url: str
) -> None:
    with _client(api_url) as client:
        result = sync_records(client, engine, 235564, MSK, *WINDOW)
    assert result.rejected == len(HOSTILE_RECORDS) + 1
    with engine.connect() as conn:
        loaded = set(conn.execute(text("SELECT record_id FROM yclients.records")).scalars())
    assert loaded == {201, 202, 203}
    rejected = _rejected(engine, "records")
    for record_id, (_, word) in HOSTILE_RECORDS.items():
        assert any(word in reason for reason in rejected[str(record_id)]), (
            record_id,
            rejected[str(record_id)],
        )
    assert any("record_id" in r and "bigint" in r for r in rejected[str(2**63)])


def test_raw_is_stored_cleaned_and_numbers_exact(engine: Engine, api_url: str) -> None:
    with _client(api_url) as client:
        sync_records(client, engine, 235564, MSK, *WINDOW)
    with engine.connect() as conn:
        fields = conn.execute(
            text("SELECT raw->'custom_fields' FROM yclients.records WHERE record_id = 201")
        ).scalar_one()
        # Hostile raw of a rejected record is stored too, with its reasons.
        comment = conn.execute(
            text("SELECT raw->>'comment' FROM yclients.rejected_rows WHERE source_key = '112'")
        ).scalar_one()
    assert fields == {"note": "ab", "broken": "x\ufffd", "big": 2**70, "nan": None}
    assert comment == "букет \ufffd"


def test_a_rerun_changes_nothing_and_the_window_never_fails(engine: Engine, api_url: str) -> None:
    with _client(api_url) as client:
        sync_records(client, engine, 235564, MSK, *WINDOW)
        again = sync_records(client, engine, 235564, MSK, *WINDOW)
    assert (again.counts.created, again.counts.updated, again.counts.unchanged) == (0, 0, 3)
    assert again.deleted == 0  # quarantined records are not "vanished"


HOSTILE_SERVICES = {
    2: ({"price_min": 1e11}, "price_min"),
    3: ({"title": "Стрижка\x00"}, "title"),
    4: ({"category_id": -1}, "category_id"),
    5: ({"price_max": "12.345"}, "price_max"),
    6: ({"category_id": 2**63}, "category_id"),
}
HOSTILE_STAFF = {
    2: ({"name": "Анна\ud800"}, "name"),
    3: ({"dismissal_date": "2026-13-45"}, "dismissal_date"),
    4: ({"status": 2**40}, "status"),
    5: ({"is_deleted": "perhaps"}, "deleted"),
}


def test_hostile_services_and_staff_are_quarantined(engine: Engine) -> None:
    api = HostileApi(
        services=[GOOD_SERVICE, *({**GOOD_SERVICE, "id": i, **c} for i, (c, _) in HOSTILE_SERVICES.items())],
        staff=[
            {**GOOD_STAFF, "id": 1, "is_deleted": True, "dismissal_date": "2025-03-01", "status": 1},
            {**GOOD_STAFF, "id": 6, "dismissal_date": "0000-00-00", "is_deleted": None, "fired": None},
            *({**GOOD_STAFF, "id": i, **c} for i, (c, _) in HOSTILE_STAFF.items()),
        ],
    )
    with serve_in_thread(api) as base, _client(f"{base}/api/v1") as client:
        services = load(SERVICES, client, engine, 235564, booking_form_url=None, service_link_template="")
        staff = load(STAFF, client, engine, 235564, booking_form_url=None, staff_link_template="")
    assert (services.counts.created, services.rejected) == (1, len(HOSTILE_SERVICES))
    assert (staff.counts.created, staff.rejected) == (2, len(HOSTILE_STAFF))
    for entity, hostile in (("services", HOSTILE_SERVICES), ("staff", HOSTILE_STAFF)):
        rejected = _rejected(engine, entity)
        for ident, (_, word) in hostile.items():
            assert any(word in reason for reason in rejected[str(ident)]), (
                entity,
                ident,
                rejected[str(ident)],
            )
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT staff_id, deleted, dismissal_date, status FROM yclients.staff ORDER BY staff_id")
        ).all()
    assert [tuple(r) for r in stored] == [(1, True, date(2025, 3, 1), 1), (6, False, None, 0)]


def test_the_rejected_share_checks_report_the_share(
    dagster_env: Path, engine: Engine, api_url: str, api: HostileApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ycpipeline.cli.runs import run_job
    from ycpipeline.defs.automation.planning import window_runs

    api.services = [GOOD_SERVICE, {**GOOD_SERVICE, "id": 2**63}]
    api.staff = [GOOD_STAFF]
    monkeypatch.setenv("YCLIENTS_API_URL", api_url)
    # The partitions of the served records' own day (the sample's), whatever today is.
    served = date.fromisoformat(GOOD_RECORD["date"][:10])
    (window,) = window_runs([[235564]], served - timedelta(days=1), served, "test")
    # This API serves no categories or accounts (404): those partitions fail, the records load.
    result = run_job(window.job_name, tags=window.tags, run_config=window.run_config, raise_on_error=False)
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    records_check = checks["records_rejected_share"]
    fetched = len(HOSTILE_RECORDS) + 4
    assert not records_check.passed and records_check.severity == dg.AssetCheckSeverity.ERROR
    assert records_check.metadata["share"].value == round((fetched - 3) / fetched, 4)
    assert checks["services_rejected_share"].metadata["share"].value == 0.5
    assert checks["staff_rejected_share"].passed
    assert records_check.metadata["rejected"].value == fetched - 3
