"""Record objects → rows of `yclients.records` and `yclients.record_services`."""

from __future__ import annotations

from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Any

from ycpipeline.normalize.values import raw_json, to_bool, to_datetime, to_e164, to_int, to_money, to_text

ZERO = Decimal("0.00")


def service_lines(raw_services: Any, company_id: int, record_id: int | None) -> list[dict[str, Any]] | None:
    """A record's service lines, one per service id (repeated services merged: amounts and costs summed).

    None when the list is unusable (not a list, a line without an id or a cost), so validation rejects
    the whole record rather than loading a wrong total.
    """
    if raw_services in (None, []):
        return []
    if not isinstance(raw_services, list):
        return None
    merged: dict[int, dict[str, Any]] = {}
    for line in raw_services:
        if not isinstance(line, dict):
            return None
        service_id = to_int(line.get("id"))
        cost = to_money(line.get("cost"))
        amount = to_int(line.get("amount", 1))
        if service_id is None or cost is None or amount is None:
            return None
        first_cost = to_money(line.get("first_cost"))
        if service_id in merged:
            row = merged[service_id]
            row["cost"] += cost
            row["amount"] += amount
            row["first_cost"] = (
                None if row["first_cost"] is None or first_cost is None else row["first_cost"] + first_cost
            )
        else:
            merged[service_id] = {
                "company_id": company_id,
                "record_id": record_id,
                "service_id": service_id,
                "title": to_text(line.get("title")),
                "cost": cost,
                "first_cost": first_cost,
                "discount": to_money(line.get("discount")),
                "amount": amount,
            }
    return list(merged.values())


def record_row(
    raw: Any, company_id: int, tz: tzinfo, synced_at: datetime
) -> tuple[dict[str, Any], list[dict[str, Any]] | None]:
    """A record as a warehouse row plus its service lines; bad fields become None for validation."""
    obj: dict[str, Any] = raw if isinstance(raw, dict) else {}
    record_id = to_int(obj.get("id"))
    starts_at = to_datetime(obj.get("datetime"), tz) or to_datetime(obj.get("date"), tz)
    client_obj = obj.get("client")
    client: dict[str, Any] = client_obj if isinstance(client_obj, dict) else {}
    lines = service_lines(obj.get("services"), company_id, record_id)
    duration = to_int(obj.get("seance_length", obj.get("length")))
    attendance = to_int(obj.get("attendance"))
    row = {
        "company_id": company_id,
        "record_id": record_id,
        "visit_date": starts_at.astimezone(tz).date() if starts_at else None,
        "starts_at": starts_at,
        "duration_seconds": duration,
        "staff_id": to_int(obj.get("staff_id")),
        "client_id": to_int(client.get("id")),
        "client_name": to_text(client.get("name")),
        "client_phone": to_e164(to_text(client.get("phone"))),
        "comment": to_text(obj.get("comment")) or "",
        "attendance": attendance,
        "deleted": to_bool(obj.get("deleted", False)),
        "total_cost": sum((line["cost"] for line in lines), ZERO) if lines is not None else None,
        "created_at": to_datetime(obj.get("create_date"), tz),
        "changed_at": to_datetime(obj.get("last_change_date"), tz),
        "synced_at": synced_at,
        "raw": raw_json(raw),
    }
    return row, lines
