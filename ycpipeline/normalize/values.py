"""Tolerant coercions for the API's loosely typed values: each returns None instead of raising.

Coercions are lossless: `"1000.00"` becomes 1000.00 and `"1"` True, but a value they cannot carry over
exactly (a cost with sub-kopeck digits, a string where a number belongs) is not rounded or guessed: it
is kept as it is or becomes None, for validation to reject with a reason.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from decimal import MAX_EMAX, MIN_EMIN, Decimal, InvalidOperation, localcontext
from functools import lru_cache
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
import phonenumbers

from ycpipeline.normalize.personal import mentions_personal, without_personal

# ASCII digits only (str.isdigit() also accepts "²", which int() refuses), and no more than int() reads
# from text (sys.get_int_max_str_digits()): anything else would raise instead of being quarantined.
_INTEGER = re.compile(r"-?[0-9]{1,4300}", re.ASCII)

CENT = Decimal("0.01")
T = TypeVar("T")


def to_int(value: Any) -> int | None:
    """`79067`, `"79067"` → 79067; anything else → None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def to_money(value: Any) -> Decimal | None:
    """Numbers and numeric strings → Decimal, in kopecks when that is exact (floats go through their repr).

    Never rounds: an amount with digits below a kopeck, or too large, is returned as it is, for
    validation to reject against the column's type.
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
        in_kopecks = amount.quantize(CENT)
    except InvalidOperation:
        return amount
    return in_kopecks if in_kopecks == amount else amount


def money_sum(amounts: Iterable[Decimal]) -> Decimal:
    """Σ `amounts`: exact for money, and an absurd amount (`1e999999999`) is summed instead of raising
    decimal.Overflow, so validation rejects the row naming the column it cannot fit."""
    with localcontext(Emax=MAX_EMAX, Emin=MIN_EMIN):
        return sum(amounts, Decimal("0.00"))


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
    """Strings exactly as they are (validation rejects what Postgres text cannot hold); numbers as text."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return str(value)
    return None


# PHP/MySQL write "no date" as a zero date: it means absent, not malformed (uncertain: no documented
# example has one).
ZERO_DATES = ("0000-00-00", "0000-00-00 00:00:00")


def is_zero_date(value: Any) -> bool:
    """Whether `value` is a zero date, YClients' way of writing "none"."""
    return isinstance(value, str) and value.strip() in ZERO_DATES


def to_date(value: Any) -> date | None:
    """`2019-01-16`, `2019-01-16 16:00:00` (offset or not) → the calendar date as written; else None."""
    if isinstance(value, datetime):
        return value.date()
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.strip()).date()
    except ValueError:
        return None


# Every zone's offset is under a day: a moment between these converts to any zone without overflowing.
FIRST_MOMENT = datetime.min.replace(tzinfo=UTC) + timedelta(days=1)
LAST_MOMENT = datetime.max.replace(tzinfo=UTC) - timedelta(days=1)


def to_datetime(value: Any, tz: tzinfo | None = None) -> datetime | None:
    """ISO 8601 with `+03:00`, `+0300` or (with `tz`) no offset → an aware datetime; None when unreadable.

    A moment within a day of the calendar's ends (`0001-01-01T01:00:00+05:00` is in year 0 in UTC) is
    unreadable too: some zone could not hold it, so converting it would raise OverflowError.
    """
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
    return parsed if FIRST_MOMENT <= parsed <= LAST_MOMENT else None


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


# The zone of a company whose own is unknown (the API gives none), and the default of
# YCLIENTS_PARTITION_TIMEZONE: YClients' home zone.
FALLBACK_ZONE = "Europe/Moscow"


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
        return ZoneInfo(FALLBACK_ZONE)


def raw_json(obj: Any) -> str:
    """The source object as JSON text that a `jsonb` column accepts, without the personal fields of the
    deny-list (`normalize.personal`).

    jsonb holds any JSON number exactly (integers beyond 64 bits included) but no NUL character and no
    lone UTF-16 surrogate. When the object has either, it is cleaned: NUL characters are removed, a lone
    surrogate becomes U+FFFD, and NaN/Infinity (not JSON) become null, in keys and values alike.
    """
    try:
        written = orjson.dumps(obj)
    except TypeError:  # lone surrogates, integers beyond 64 bits, keys that are not strings
        return _clean_json(without_personal(obj))
    if mentions_personal(written):  # rare: most objects are written once, without a copy
        obj = without_personal(obj)
        written = orjson.dumps(obj)
    text = written.decode()
    # orjson writes a NUL character as \u0000 (rarer still: a literal backslash-u0000, cleaned harmlessly).
    # Cut again: a key becomes a denied name once its NUL is removed, unseen by the test above.
    return _clean_json(without_personal(obj)) if "\\u0000" in text else text


def _clean_json(obj: Any) -> str:
    return json.dumps(_cleaned(obj), ensure_ascii=False, allow_nan=False, default=str)


def clean_text(value: str) -> str:
    """`value` without NUL characters, each lone surrogate replaced by U+FFFD (pairs are joined)."""
    value = value.replace("\x00", "")
    if value.isascii():
        return value
    return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _cleaned(obj: Any) -> Any:
    if isinstance(obj, str):
        return clean_text(obj)
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {clean_text(str(k)): _cleaned(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_cleaned(v) for v in obj]
    return obj


def show(value: Any, limit: int = 60) -> str:
    """A short, printable excerpt of a raw value for a rejection reason (escapes NUL and surrogates)."""
    text = str(value) if isinstance(value, (int, Decimal)) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def optional(
    obj: dict[str, Any],
    key: str,
    convert: Callable[[Any], T | None],
    expected: str,
    problems: list[str],
    *,
    label: str | None = None,
) -> T | None:
    """`obj[key]` converted; None when absent, null or empty. A value that is there but does not convert
    adds a problem (`label: value is not expected`) instead of silently becoming None."""
    value = obj.get(key)
    if value is None or (isinstance(value, str) and value == ""):
        return None
    converted = convert(value)
    if converted is None:
        problems.append(f"{label or key}: {show(value)} is not {expected}")
    return converted
