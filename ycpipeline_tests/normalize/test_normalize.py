"""Normalisation of the shapes in ../shared/samples: types, phones, time zones, money."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ycpipeline.normalize.records import record_row
from ycpipeline.normalize.values import company_zone, raw_json, to_e164, to_money

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples"
FIXTURES = Path(__file__).parents[1] / "samples"


def _sample(name: str) -> dict:
    path = SAMPLES / name if (SAMPLES / name).exists() else FIXTURES / name
    return json.loads(path.read_text())


@pytest.mark.parametrize(
    "written",
    ["+7 (916) 123-45-67", "89161234567", "9161234567", "79161234567", "8 (916) 123 45 67", "+79161234567"],
)
def test_russian_phone_notations_agree(written: str) -> None:
    assert to_e164(written) == "+79161234567"


@pytest.mark.parametrize("written", ["", "123", "not a phone", None])
def test_unusable_phones_are_null(written: str | None) -> None:
    assert to_e164(written) is None


def test_company_zone_accepts_every_form() -> None:
    assert company_zone("Europe/Moscow", 3) == ZoneInfo("Europe/Moscow")
    assert company_zone(None, "Asia/Vladivostok") == ZoneInfo("Asia/Vladivostok")
    assert datetime(2026, 1, 1, tzinfo=company_zone(None, 5)).utcoffset().total_seconds() == 5 * 3600


def test_sample_records_normalise() -> None:
    tz = ZoneInfo("Europe/Moscow")
    first, second = _sample("records_page.json")["data"]
    row, lines = record_row(first, 235564, tz, datetime.now(UTC))
    assert row["visit_date"] == date(2026, 11, 20)  # 00:30 local stays on its local date
    assert row["client_phone"] == "+79161234567"
    assert row["total_cost"] == Decimal("3150.00")
    assert [line["cost"] for line in lines] == [Decimal("2250.00"), Decimal("900.00")]
    assert row["created_at"] == datetime(2026, 10, 2, 11, 11, 5, tzinfo=UTC)
    row2, lines2 = record_row(second, 235564, tz, datetime.now(UTC))
    assert row2["client_id"] is None and row2["client_phone"] is None
    assert lines2 == [] and row2["total_cost"] == Decimal("0.00")


def test_repeated_service_lines_are_merged() -> None:
    raw = _sample("records_page.json")["data"][0]
    raw["services"].append(dict(raw["services"][0]))
    row, lines = record_row(raw, 235564, ZoneInfo("Europe/Moscow"), datetime.now(UTC))
    merged = next(line for line in lines if line["service_id"] == 9120034)
    assert merged["amount"] == 2 and merged["cost"] == Decimal("4500.00")
    assert row["total_cost"] == Decimal("5400.00")


@pytest.mark.parametrize(
    ("local_date", "expected"),
    [
        ("2019-01-16 16:00:00", date(2019, 1, 16)),  # the API's own date wins (yclientsru.apib:5501)
        (None, date(2019, 1, 15)),  # missing: datetime in the company's zone
        ("2019-13-45 16:00:00", date(2019, 1, 15)),  # unreadable: the same fallback
    ],
)
def test_visit_date_is_the_api_local_date(local_date: str | None, expected: date) -> None:
    # The company's zone as configured (Moscow) is not the zone of the API's offset (+09:00):
    # re-deriving the date from `datetime` gives the 15th, the API says the 16th.
    raw = {
        **_sample("records_page.json")["data"][0],
        "date": local_date,
        "datetime": "2019-01-16T02:00:00+09:00",
    }
    row, _ = record_row(raw, 235564, ZoneInfo("Europe/Moscow"), datetime.now(UTC))
    assert row["visit_date"] == expected
    assert row["starts_at"] == datetime(2019, 1, 15, 17, 0, tzinfo=UTC)


def test_one_visit_date_rule_for_normalisation_and_the_webhook_planner() -> None:
    from ycpipeline.normalize.records import visit_date
    from ycpipeline.webhooks.processing import ignore_reason
    from ycpipeline.webhooks.queue import QueuedEvent

    moscow = ZoneInfo("Europe/Moscow")
    late_evening = {"datetime": "2023-12-31T23:30:00+03:00"}
    assert visit_date(late_evening, moscow) == visit_date(late_evening, None) == date(2023, 12, 31)
    # An offset-less `datetime` is the company's local time, read as written when the zone is unknown.
    assert visit_date({"datetime": "2024-01-01 00:10:00"}, None) == date(2024, 1, 1)
    # Without `date` the zone decides: 02:00 at +09:00 is still the 15th in Moscow.
    assert visit_date({"datetime": "2019-01-16T02:00:00+09:00"}, moscow) == date(2019, 1, 15)
    assert visit_date({"date": "2019-01-16 16:00:00", "datetime": "garbage"}, None) == date(2019, 1, 16)
    assert visit_date({}, moscow) is None and visit_date({"date": "0000-00-00"}, None) is None
    # The webhook planner reads the record the same way: `date` wins over `datetime`.
    body = {"data": {"date": "2023-12-31 10:00:00", "datetime": "2024-01-01T10:00:00+03:00"}}
    event = QueuedEvent(1, 235564, "record", 7, "update", body, attempts=0)
    assert ignore_reason(event, [235564], date(2024, 1, 1)) == (
        "visit date 2023-12-31 is before RECORDS_START_DATE 2024-01-01"
    )


def test_the_official_records_fill_the_data_team_columns() -> None:
    official = json.loads((FIXTURES / "apib_records_list.json").read_text())["body"]["data"]
    row, lines = record_row(official[1], 4564, ZoneInfo("Asia/Vladivostok"), datetime.now(UTC))
    assert row["problems"] == [] and lines == []
    assert {k: row[k] for k in ("visit_id", "visit_attendance", "confirmed", "online", "paid_full")} == {
        "visit_id": 8262996,
        "visit_attendance": 1,
        "confirmed": 1,
        "online": True,
        "paid_full": 0,
    }
    assert (row["prepaid"], row["prepaid_confirmed"], row["master_request"]) == (False, False, True)
    assert (row["created_user_id"], row["activity_id"], row["api_id"], row["from_url"]) == (
        1073232,
        0,
        None,
        None,
    )
    assert json.loads(row["record_labels"]) == [
        {"id": 67345, "title": "Сотрудник не важен"},
        {"id": 104474, "title": "важная категория"},
    ]
    assert row["payment_status"] is None  # no documented example carries it


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (2250, Decimal("2250.00")),
        ("1000.5", Decimal("1000.50")),
        (19.99, Decimal("19.99")),
        ("100.005", Decimal("100.005")),
    ],
)
def test_money_is_never_rounded(value: object, expected: Decimal) -> None:
    assert str(to_money(value)) == str(expected)  # exact digits: 100.005 stays for validation to reject


def test_raw_json_is_what_jsonb_accepts() -> None:
    raw = {
        "a\x00": "x\x00y",
        "s": "\ud83c\udf38 \udc00",
        "big": 2**70,
        "nan": float("nan"),
        5: [float("inf")],
    }
    assert json.loads(raw_json(raw)) == {"a": "xy", "s": "🌸 \ufffd", "big": 2**70, "nan": None, "5": [None]}
    assert raw_json({"ok": "plain"}) == '{"ok":"plain"}'  # the common case takes the fast path
