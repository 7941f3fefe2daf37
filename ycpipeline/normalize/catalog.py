"""Services and staff objects → rows of `yclients.services` / `yclients.staff`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ycpipeline.normalize.values import (
    is_zero_date,
    optional,
    raw_json,
    show,
    to_bool,
    to_date,
    to_int,
    to_money,
    to_text,
)


def _first_present(obj: dict[str, Any], *keys: str, default: Any) -> Any:
    """The value of the first key that is present and not null, else `default`."""
    for key in keys:
        if obj.get(key) is not None:
            return obj[key]
    return default


def _deleted(obj: dict[str, Any]) -> bool | None:
    """Deleted when `is_deleted` says so or `status` is 1 (the OpenAPI: "1 - удален"); None when unreadable."""
    flag = to_bool(_first_present(obj, "is_deleted", "deleted", default=False))
    return None if flag is None else flag or to_int(obj.get("status")) == 1


def booking_url(template: str, form_url: str | None, **ids: int | None) -> str | None:
    """A customer booking link from the configured template, or None without a booking form URL."""
    if not form_url or any(v is None for v in ids.values()):
        return None
    return template.format(form=form_url.rstrip("/"), **ids)


def service_row(
    raw: Any, company_id: int, synced_at: datetime, form_url: str | None, link_template: str
) -> dict[str, Any]:
    """One service as a warehouse row; unparsable fields become None or a problem for validation."""
    obj = raw if isinstance(raw, dict) else {}
    problems = [] if isinstance(raw, dict) else [f"service: {show(raw)} is not an object"]
    service_id = to_int(obj.get("id"))
    return {
        "company_id": company_id,
        "service_id": service_id,
        "title": to_text(obj.get("title")),
        "category_id": optional(obj, "category_id", to_int, "a whole number", problems),
        # A price that is present but not money must not load as "no price".
        "price_min": optional(obj, "price_min", to_money, "a number", problems),
        "price_max": optional(obj, "price_max", to_money, "a number", problems),
        "active": to_bool(obj.get("active")),
        "booking_url": booking_url(link_template, form_url, company_id=company_id, service_id=service_id),
        "removed_at": None,
        "synced_at": synced_at,
        "raw": raw_json(raw),
        "problems": problems,
    }


def staff_row(
    raw: Any, company_id: int, synced_at: datetime, form_url: str | None, link_template: str
) -> dict[str, Any]:
    """One staff member as a warehouse row.

    `fired` and `hidden` are documented (yclientsru.apib:4083-4084); current payloads add `is_fired`,
    `is_deleted`, `dismissal_date` and `dismissal_reason` (public client code, not the description):
    `fired` wins when both are sent, a missing deletion flag means not deleted.
    """
    obj = raw if isinstance(raw, dict) else {}
    problems = [] if isinstance(raw, dict) else [f"staff: {show(raw)} is not an object"]
    staff_id = to_int(obj.get("id"))
    dismissal = obj.get("dismissal_date")
    return {
        "company_id": company_id,
        "staff_id": staff_id,
        "name": to_text(obj.get("name")),
        "specialization": to_text(obj.get("specialization")),
        "fired": to_bool(_first_present(obj, "fired", "is_fired", default=False)),
        "hidden": to_bool(obj.get("hidden", 0)),
        "booking_url": booking_url(link_template, form_url, company_id=company_id, staff_id=staff_id),
        "removed_at": None,
        "synced_at": synced_at,
        "raw": raw_json(raw),
        "deleted": _deleted(obj),
        "dismissal_date": None
        if is_zero_date(dismissal)
        else optional(obj, "dismissal_date", to_date, "a date", problems),
        "dismissal_reason": optional(obj, "dismissal_reason", to_text, "text", problems),
        "status": optional(obj, "status", to_int, "a whole number", problems),
        "problems": problems,
    }
