"""Objects of the streams beside the records → warehouse rows: service categories, payment accounts, a
record's payments, the cash ledger, goods transactions, clients and staff schedules.

As for records, a field that is present but cannot be carried over exactly becomes a problem in the row's
`problems` (validation then quarantines the row with it) instead of a silent None.
"""

from __future__ import annotations

import re
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any

from ycpipeline.normalize.values import (
    is_zero_date,
    optional,
    raw_json,
    show,
    to_date,
    to_datetime,
    to_e164,
    to_int,
    to_money,
    to_text,
)

# yclientsru.apib:9366: "1 - для безналичных платежей, 0 для наличных". Any other type is 'other'.
ACCOUNT_KINDS = {0: "cash", 1: "cashless"}
MINUTES_PER_DAY = 24 * 60
_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")


def _object(raw: Any, what: str) -> tuple[dict[str, Any], list[str]]:
    if isinstance(raw, dict):
        return raw, []
    return {}, [f"{what}: {show(raw)} is not an object"]


def _nested_id(obj: dict[str, Any], key: str, flat_key: str | None, problems: list[str]) -> int | None:
    """An id sent flat (`account_id`) or nested (`account: {id}`); `[]` or 0 for "none" means None."""
    if flat_key is not None and obj.get(flat_key) not in (None, "", 0, "0"):
        return optional(obj, flat_key, to_int, "a whole number", problems)
    nested = obj.get(key)
    if isinstance(nested, dict) and nested.get("id") not in (None, "", 0, "0"):
        return optional(nested, "id", to_int, "a whole number", problems, label=f"{key}.id")
    if nested not in (None, [], {}, "") and not isinstance(nested, dict):
        problems.append(f"{key}: {show(nested)} is not an object")
    return None


def _moment(obj: dict[str, Any], key: str, tz: tzinfo, problems: list[str]) -> datetime | None:
    if is_zero_date(obj.get(key)):
        return None
    return optional(obj, key, lambda v: to_datetime(v, tz), "a date and time", problems)


def service_category_row(raw: Any, company_id: int, synced_at: datetime) -> dict[str, Any]:
    """A service category (yclientsru.apib:2644-2649: id, salon_service_id, title, api_id, weight, staff)."""
    obj, problems = _object(raw, "service category")
    return {
        "company_id": company_id,
        "category_id": to_int(obj.get("id")),
        "title": to_text(obj.get("title")),
        "weight": optional(obj, "weight", to_int, "a whole number", problems),
        "api_id": optional(obj, "api_id", to_text, "text", problems),
        "removed_at": None,
        "synced_at": synced_at,
        "raw": raw_json(raw),
        "problems": problems,
    }


def payment_account_row(raw: Any, company_id: int, synced_at: datetime) -> dict[str, Any]:
    """A cash desk or account (yclientsru.apib:9361-9366: id, title, type, comment)."""
    obj, problems = _object(raw, "account")
    account_type = optional(obj, "type", to_int, "a whole number", problems)
    return {
        "company_id": company_id,
        "account_id": to_int(obj.get("id")),
        "title": to_text(obj.get("title")),
        "account_type": account_type,
        "kind": ACCOUNT_KINDS.get(account_type, "other") if account_type is not None else "other",
        "comment": optional(obj, "comment", to_text, "text", problems),
        "removed_at": None,
        "synced_at": synced_at,
        "raw": raw_json(raw),
        "problems": problems,
    }


def record_payment_rows(
    raw_record: Any, company_id: int, record_id: int | None, tz: tzinfo, synced_at: datetime
) -> list[dict[str, Any]] | None:
    """The payments a record lists in `finance_transactions` (yclientsru.apib:6112-6140), or None when the
    record does not carry the field (then its stored payments are left as they are).

    `date` is the company's local time without an offset (yclientsru.apib:6115), `amount` a number.
    """
    if not isinstance(raw_record, dict) or "finance_transactions" not in raw_record:
        return None
    listed = raw_record["finance_transactions"]
    if listed in (None, {}):
        listed = []
    if not isinstance(listed, list):
        listed = [listed]  # one unusable entry: quarantined below with the reason
    rows = []
    for item in listed:
        obj, problems = _object(item, "finance_transactions[]")
        paid_at, amount = _date_and_amount(obj, tz, problems)
        rows.append(
            {
                "company_id": company_id,
                "transaction_id": to_int(obj.get("id")),
                "record_id": record_id,
                "document_id": optional(obj, "document_id", to_int, "a whole number", problems),
                "paid_at": paid_at,
                "amount": amount,
                "account_id": _nested_id(obj, "account", "account_id", problems),
                "expense_id": _nested_id(obj, "expense", "expense_id", problems),
                "client_id": _nested_id(obj, "client", "client_id", problems),
                "synced_at": synced_at,
                "raw": raw_json(item),
                "problems": problems,
            }
        )
    return rows


def _required_moment(obj: dict[str, Any], key: str, tz: tzinfo, problems: list[str]) -> datetime | None:
    """`obj[key]` as a moment; missing or unreadable, it is named in `problems`."""
    moment = to_datetime(obj.get(key), tz)
    if moment is None and obj:
        problems.append(f"{key}: {show(obj.get(key))} is not a date and time")
    return moment


def _date_and_amount(
    obj: dict[str, Any], tz: tzinfo, problems: list[str]
) -> tuple[datetime | None, Decimal | None]:
    """A money movement's `date` and `amount`, each unreadable one named in `problems` (payments of
    records and cash-ledger transactions alike)."""
    moment = _required_moment(obj, "date", tz, problems)
    amount = to_money(obj.get("amount"))
    if amount is None and obj:
        problems.append(f"amount: {show(obj.get('amount'))} is not a number")
    return moment, amount


def finance_transaction_row(raw: Any, company_id: int, tz: tzinfo, synced_at: datetime) -> dict[str, Any]:
    """A cash-ledger transaction of `GET /transactions/{company_id}` (yclientsru.apib:12361-12388, example
    :12447-12473): ids and amounts as strings, dates with an offset without a colon."""
    obj, problems = _object(raw, "transaction")
    made_at, amount = _date_and_amount(obj, tz, problems)
    expense = obj.get("expense")
    return {
        "company_id": company_id,
        "transaction_id": to_int(obj.get("id")),
        "document_id": optional(obj, "document_id", to_int, "a whole number", problems),
        "made_at": made_at,
        "made_on": made_at.astimezone(tz).date() if made_at is not None else None,
        "amount": amount,
        "account_id": _nested_id(obj, "account", None, problems),
        "expense_id": _nested_id(obj, "expense", None, problems),
        "expense_title": to_text(expense.get("title")) if isinstance(expense, dict) else None,
        "client_id": _nested_id(obj, "client", None, problems),
        "staff_id": _nested_id(obj, "master", None, problems),
        "supplier_id": _nested_id(obj, "supplier", None, problems),
        "comment": optional(obj, "comment", to_text, "text", problems),
        "changed_at": _moment(obj, "last_change_date", tz, problems),
        "removed_at": None,
        "synced_at": synced_at,
        "raw": raw_json(raw),
        "problems": problems,
    }


def goods_transaction_row(raw: Any, company_id: int, tz: tzinfo, synced_at: datetime) -> dict[str, Any]:
    """A goods transaction of `GET /storages/transactions/{company_id}` (example yclientsru.apib:16081-16128):
    nested ids as strings, money as strings, dates with an offset without a colon, `record_id` 0 for none.

    UNCERTAIN: the list example has no `amount`; the POST body documents it (:16142) and answers `-1` for a
    sale (:16193), so it is read as a signed quantity. The client sits under `clients` (sic), as one object.
    """
    obj, problems = _object(raw, "goods transaction")
    created_at = _required_moment(obj, "create_date", tz, problems)
    good = obj.get("good")
    # The list example sends the type's name (:16085); the POST answer an object {id, title} (:16187).
    kind = obj.get("type")
    kind = kind.get("title") if isinstance(kind, dict) else kind
    if kind is not None and not isinstance(kind, str):
        problems.append(f"type: {show(obj.get('type'))} is not a name")
    record_id = optional(obj, "record_id", to_int, "a whole number", problems)
    if record_id is not None and record_id < 0:
        problems.append(f"record_id: {show(obj.get('record_id'))} is not an id")
    return {
        "company_id": company_id,
        "transaction_id": to_int(obj.get("id")),
        "document_id": optional(obj, "document_id", to_int, "a whole number", problems),
        "type_id": optional(obj, "type_id", to_int, "a whole number", problems),
        "type_title": kind if isinstance(kind, str) else None,
        "good_id": _nested_id(obj, "good", None, problems),
        "good_title": to_text(good.get("title")) if isinstance(good, dict) else None,
        "storage_id": _nested_id(obj, "storage", None, problems),
        "quantity": optional(obj, "amount", to_money, "a number", problems),
        "cost_per_unit": optional(obj, "cost_per_unit", to_money, "a number", problems),
        "cost": optional(obj, "cost", to_money, "a number", problems),
        "discount": optional(obj, "discount", to_money, "a number", problems),
        "record_id": record_id or None,  # 0: no visit
        "service_id": _nested_id(obj, "service", None, problems),
        "staff_id": _nested_id(obj, "master", None, problems),
        "supplier_id": _nested_id(obj, "supplier", None, problems),
        "client_id": _nested_id(obj, "clients", None, problems),
        "created_at": created_at,
        "created_on": created_at.astimezone(tz).date() if created_at is not None else None,
        "changed_at": _moment(obj, "last_change_date", tz, problems),
        "synced_at": synced_at,
        "raw": raw_json(raw),
        "problems": problems,
    }


def client_row(raw: Any, company_id: int, synced_at: datetime) -> dict[str, Any]:
    """A client of the clients search (fields yclientsru.apib:208-218). UNCERTAIN: the description lists
    `first_visit_date`, `last_visit_date`, `sold_amount` and `visits_count` without a format; dates are read
    whether they carry a time or not (a zero date means none), amounts as numbers or numeric strings."""
    obj, problems = _object(raw, "client")
    dates: dict[str, date | None] = {}
    for key in ("first_visit_date", "last_visit_date"):
        dates[key] = None if is_zero_date(obj.get(key)) else optional(obj, key, to_date, "a date", problems)
    phone_text = optional(obj, "phone", to_text, "text", problems)
    return {
        "company_id": company_id,
        "client_id": to_int(obj.get("id")),
        "name": optional(obj, "name", to_text, "text", problems),
        # The same normalisation as the records' phones; a phone that is no number in any notation is null
        # (the raw object keeps it).
        "phone": to_e164(phone_text),
        "email": optional(obj, "email", to_text, "text", problems),
        "discount": optional(obj, "discount", to_money, "a number", problems),
        **dates,
        "visits_count": optional(obj, "visits_count", to_int, "a whole number", problems),
        "sold_amount": optional(obj, "sold_amount", to_money, "a number", problems),
        "removed_at": None,
        "synced_at": synced_at,
        "raw": raw_json(raw),
        "problems": problems,
    }


def clock_minutes(value: Any) -> int | None:
    """`"10:00"`, `"10:30:00"` → minutes after midnight; anything else None."""
    match = _CLOCK.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    hours, minutes = int(match.group(1)), int(match.group(2))
    if hours > 24 or minutes > 59 or (hours == 24 and minutes):
        return None
    return hours * 60 + minutes


def interval_minutes(intervals: Any, label: str, problems: list[str]) -> tuple[list[dict[str, str]], int]:
    """`[{"from": "10:00", "to": "14:00"}, …]` → the intervals as given and their total minutes.

    An interval whose end is before its start runs past midnight (a night shift); one whose end equals
    its start lasts nothing.
    """
    if intervals in (None, [], {}):
        return [], 0
    if not isinstance(intervals, list):
        problems.append(f"{label}: {show(intervals)} is not a list of intervals")
        return [], 0
    kept, total = [], 0
    for position, interval in enumerate(intervals):
        start = clock_minutes(interval.get("from")) if isinstance(interval, dict) else None
        end = clock_minutes(interval.get("to")) if isinstance(interval, dict) else None
        if start is None or end is None:
            problems.append(f"{label}[{position}]: {show(interval)} is not an interval from HH:MM to HH:MM")
            continue
        assert isinstance(interval, dict)
        kept.append({"from": str(interval["from"]).strip(), "to": str(interval["to"]).strip()})
        total += end - start if end >= start else end + MINUTES_PER_DAY - start
    return kept, total


def staff_schedule_row(
    raw: Any, company_id: int, synced_at: datetime, staff_id: int | None = None
) -> dict[str, Any]:
    """One staff member's day: the per-staff schedule's `{date, is_working, slots}` (yclientsru.apib:7403-
    7416, 7497-7548), given `staff_id`, or a company schedule's `{staff_id, date, slots, busy_intervals}`."""
    obj, problems = _object(raw, "schedule day")
    slots, scheduled = interval_minutes(obj.get("slots"), "slots", problems)
    busy_raw = obj.get("busy_intervals")
    busy: list[dict[str, str]] | None = None
    busy_minutes: int | None = None
    if busy_raw is not None:
        busy, busy_minutes = interval_minutes(busy_raw, "busy_intervals", problems)
        # The entities behind the intervals (records, group events) stay in `raw`.
    working = obj.get("is_working")
    is_working = bool(slots) if working is None else working in (1, True, "1", "true")
    return {
        "company_id": company_id,
        "staff_id": staff_id if staff_id is not None else to_int(obj.get("staff_id")),
        "work_date": to_date(obj.get("date")),
        "is_working": is_working and bool(slots),
        "slots": raw_json(slots),
        "scheduled_minutes": scheduled,
        "busy_intervals": None if busy is None else raw_json(busy),
        "busy_minutes": busy_minutes,
        "synced_at": synced_at,
        "raw": raw_json(raw),
        "problems": problems,
    }
