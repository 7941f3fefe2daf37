"""Normalisation of the shapes in ../shared/samples: types, phones, time zones, money."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ycpipeline.normalize.records import record_row
from ycpipeline.normalize.values import company_zone, to_e164

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"
FIXTURES = Path(__file__).parent / "samples"


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
