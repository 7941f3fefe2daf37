"""Tolerant coercions for the API's loosely typed values: each returns None instead of raising."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
import phonenumbers

CENT = Decimal("0.01")


def to_int(value: Any) -> int | None:
    """`79067`, `"79067"` → 79067; anything else → None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def to_money(value: Any) -> Decimal | None:
    """Numbers and numeric strings → Decimal rounded to kopecks (floats go through their repr).

    An amount too large to round is returned as it is, for validation to reject as out of range.
    """
    if isinstance(value, bool) or value is None:
        return None
    if type(value) is int:  # the common case, and exact
        value = Decimal(value)
    try:
        amount = Decimal(str(value).strip()) if isinstance(value, (int, float, str, Decimal)) else None
    except InvalidOperation:
        return None
    if amount is None or not amount.is_finite():
        return None
    try:
        return amount.quantize(CENT)
    except InvalidOperation:
        return amount


def to_bool(value: Any) -> bool | None:
    """`1`, `"1"`, `true` → True; `0`, `"0"`, `false`, `""` → False."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("1", "0", "true", "false", ""):
        return value.strip().lower() in ("1", "true")
    return None


def to_text(value: Any) -> str | None:
    """Strings as they are (NUL bytes dropped: Postgres text cannot hold them); numbers as text."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def to_datetime(value: Any, tz: tzinfo | None = None) -> datetime | None:
    """ISO 8601 with `+03:00`, `+0300` or (with `tz`) no offset → an aware datetime."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        if tz is None:
            return None
        parsed = parsed.replace(tzinfo=tz)
    return parsed


@lru_cache(maxsize=4096)
def to_e164(value: str | None) -> str | None:
    """A Russian phone in any usual notation (`8 9xx…`, `+7 (9xx) …`, bare `9xx…`) → `+79xx…`."""
    if not value or not value.strip():
        return None
    try:
        number = phonenumbers.parse(value, "RU")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=64)
def company_zone(name: str | None, offset_hours: Any = None) -> ZoneInfo | timezone:
    """The company's zone from `timezone_name`, else from a numeric `timezone` offset in hours."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    if isinstance(offset_hours, str) and not offset_hours.lstrip("+-").replace(".", "").isdigit():
        try:
            return ZoneInfo(offset_hours)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    try:
        return timezone(timedelta(hours=float(offset_hours)))
    except (TypeError, ValueError):
        return ZoneInfo("Europe/Moscow")


def local_date(moment: datetime, tz: Any) -> date:
    """The calendar date of `moment` in the company's zone."""
    return moment.astimezone(tz).date()


def raw_json(obj: Any) -> str:
    """The source object as JSON text for a `raw jsonb` column (jsonb cannot hold NUL characters)."""
    text = _dumps(obj)
    # Only a NUL character (or a literal backslash-u0000, rarer still) puts this in the text.
    return _dumps(_without_nul(obj)) if "\\u0000" in text else text


def _dumps(obj: Any) -> str:
    try:
        return orjson.dumps(obj).decode()
    except TypeError:  # integers beyond 64 bits, non-string keys: the slow, general path
        return json.dumps(obj, ensure_ascii=False, default=str)


def _without_nul(obj: Any) -> Any:
    if isinstance(obj, str):
        return obj.replace("\x00", "")
    if isinstance(obj, dict):
        return {_without_nul(k): _without_nul(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_without_nul(v) for v in obj]
    return obj
