"""Record objects → rows of `yclients.records` and `yclients.record_services`.

A field that is present but cannot be carried over exactly is not dropped: it becomes a problem in the
row's `problems` list, and validation rejects the record with it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, tzinfo
from typing import Any

from ycpipeline.normalize.values import (
    is_zero_date,
    money_sum,
    optional,
    raw_json,
    show,
    to_bool,
    to_date,
    to_datetime,
    to_e164,
    to_int,
    to_money,
    to_text,
)


def visit_date(obj: Mapping[str, Any], tz: tzinfo | None) -> date | None:
    """A record's visit date: the API's own local `date` (yclientsru.apib:5501), else the date of its
    `datetime` in the company's zone `tz` (as written when the zone is not known); None when neither reads.

    The one rule for every reader of a record object: normalisation and the webhook planner.
    """
    written = to_date(obj.get("date"))
    if written is not None:
        return written
    if tz is None:
        return to_date(obj.get("datetime"))
    moment = to_datetime(obj.get("datetime"), tz)
    return moment.astimezone(tz).date() if moment is not None else None


def _flag_number(value: Any) -> int | None:
    """A number the API uses as a flag or a status (0 and 1 seen): true/false read as 1/0."""
    return int(value) if isinstance(value, bool) else to_int(value)


# Record fields with a column of their own: (field and column, reading, what the reading expects).
OPTIONAL_FIELDS: tuple[tuple[str, Callable[[Any], Any], str], ...] = (
    ("visit_id", to_int, "a whole number"),
    ("visit_attendance", to_int, "a whole number"),
    ("confirmed", _flag_number, "a whole number"),
    ("online", to_bool, "a boolean"),
    ("paid_full", _flag_number, "a whole number"),
    # Not in the description; an integer 0-4 in the OpenAPI models (docs/warehouse.md).
    ("payment_status", _flag_number, "a whole number"),
    ("prepaid", to_bool, "a boolean"),
    ("prepaid_confirmed", to_bool, "a boolean"),
    ("created_user_id", to_int, "a whole number"),
    ("master_request", to_bool, "a boolean"),
    ("activity_id", to_int, "a whole number"),
    ("api_id", to_text, "text"),
    ("from_url", to_text, "text"),
)


def service_lines(
    raw_services: Any, company_id: int, record_id: int | None, problems: list[str]
) -> list[dict[str, Any]] | None:
    """A record's service lines, one per service id (repeated services merged: amounts and costs summed).

    None when the list is unusable (not a list, a line without an id or a cost), so validation rejects
    the whole record rather than loading a wrong total; what was wrong goes to `problems`.
    """
    if raw_services in (None, [], {}):
        return []
    if not isinstance(raw_services, list):
        problems.append(f"services: {show(raw_services)} is not a list of service lines")
        return None
    merged: dict[int, dict[str, Any]] = {}
    usable = True
    for position, line in enumerate(raw_services):
        label = f"services[{position}]"
        if not isinstance(line, dict):
            problems.append(f"{label}: {show(line)} is not a service line")
            usable = False
            continue
        service_id = to_int(line.get("id"))
        cost = to_money(line.get("cost"))
        amount = to_int(line.get("amount", 1))
        for name, value, parsed in (("id", line.get("id"), service_id), ("cost", line.get("cost"), cost)):
            if parsed is None:
                problems.append(f"{label}.{name}: {show(value)} is not a number")
        if amount is None:
            problems.append(f"{label}.amount: {show(line.get('amount'))} is not a whole number")
        first_cost = optional(line, "first_cost", to_money, "a number", problems, label=f"{label}.first_cost")
        discount = optional(line, "discount", to_money, "a number", problems, label=f"{label}.discount")
        if service_id is None or cost is None or amount is None:
            usable = False
            continue
        if service_id in merged:
            row = merged[service_id]
            row["cost"] = money_sum((row["cost"], cost))
            row["amount"] += amount
            row["first_cost"] = (
                None
                if row["first_cost"] is None or first_cost is None
                else money_sum((row["first_cost"], first_cost))
            )
        else:
            merged[service_id] = {
                "company_id": company_id,
                "record_id": record_id,
                "service_id": service_id,
                "title": to_text(line.get("title")),
                "cost": cost,
                "first_cost": first_cost,
                "discount": discount,
                "amount": amount,
            }
    return list(merged.values()) if usable else None


def _moment(obj: dict[str, Any], key: str, tz: tzinfo, problems: list[str]) -> datetime | None:
    """An optional timestamp field; a zero date means none, anything else unreadable is a problem."""
    if is_zero_date(obj.get(key)):
        return None
    return optional(obj, key, lambda v: to_datetime(v, tz), "a date and time", problems)


def record_labels(raw_labels: Any, problems: list[str]) -> str | None:
    """The labels as JSON text of `[{"id": …, "title": …}]` (ids as numbers); None when absent.

    The API writes ids as numbers or numeric strings (yclientsru.apib:5602, 5609; 5 in our samples); colours and icons
    stay in `raw`.
    """
    if raw_labels is None:
        return None
    if raw_labels in ([], {}):  # PHP writes an empty list as {} at times
        return "[]"
    if not isinstance(raw_labels, list):
        problems.append(f"record_labels: {show(raw_labels)} is not a list of labels")
        return None
    labels = []
    for position, label in enumerate(raw_labels):
        label_id = to_int(label.get("id")) if isinstance(label, dict) else None
        if label_id is None:
            problems.append(f"record_labels[{position}]: {show(label)} is not a label with an id")
            continue
        labels.append({"id": label_id, "title": to_text(label.get("title"))})
    return raw_json(labels)


def record_row(
    raw: Any, company_id: int, tz: tzinfo, synced_at: datetime
) -> tuple[dict[str, Any], list[dict[str, Any]] | None]:
    """A record as a warehouse row plus its service lines; bad fields become None for validation, and
    the row's `problems` say what was wrong with fields validation cannot see any more."""
    obj: dict[str, Any] = raw if isinstance(raw, dict) else {}
    problems: list[str] = [] if isinstance(raw, dict) else [f"record: {show(raw)} is not an object"]
    record_id = to_int(obj.get("id"))
    starts_at = to_datetime(obj.get("datetime"), tz) or to_datetime(obj.get("date"), tz)
    if starts_at is None and obj.get("datetime") not in (None, ""):
        problems.append(f"datetime: {show(obj.get('datetime'))} is not a date and time")
    client_obj = obj.get("client")
    client: dict[str, Any] = client_obj if isinstance(client_obj, dict) else {}
    lines = service_lines(obj.get("services"), company_id, record_id, problems)
    duration = to_int(obj.get("seance_length", obj.get("length")))
    row = {
        "company_id": company_id,
        "record_id": record_id,
        "visit_date": visit_date(obj, tz),
        "starts_at": starts_at,
        "duration_seconds": duration,
        "staff_id": to_int(obj.get("staff_id")),
        "client_id": to_int(client.get("id")),
        "client_name": to_text(client.get("name")),
        "client_phone": to_e164(to_text(client.get("phone"))),
        "comment": to_text(obj.get("comment")) or "",
        "attendance": to_int(obj.get("attendance")),
        "deleted": to_bool(obj.get("deleted", False)),
        "total_cost": money_sum(line["cost"] for line in lines) if lines is not None else None,
        "created_at": _moment(obj, "create_date", tz, problems),
        "changed_at": _moment(obj, "last_change_date", tz, problems),
        "synced_at": synced_at,
        "raw": raw_json(raw),
        "record_labels": record_labels(obj.get("record_labels"), problems),
        "problems": problems,
    }
    for key, convert, expected in OPTIONAL_FIELDS:  # `optional`, inlined: this runs for every record
        value = obj.get(key)
        read = None if value is None or value == "" else convert(value)
        if read is None and value is not None and value != "":
            problems.append(f"{key}: {show(value)} is not {expected}")
        row[key] = read
    return row, lines
