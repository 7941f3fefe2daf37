"""Services and staff objects → rows of `yclients.services` / `yclients.staff`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ycpipeline.normalize.values import raw_json, to_bool, to_int, to_money, to_text


def booking_url(template: str, form_url: str | None, **ids: int | None) -> str | None:
    """A customer booking link from the configured template, or None without a booking form URL."""
    if not form_url or any(v is None for v in ids.values()):
        return None
    return template.format(form=form_url.rstrip("/"), **ids)


def service_row(
    raw: Any, company_id: int, synced_at: datetime, form_url: str | None, link_template: str
) -> dict[str, Any]:
    """One service as a warehouse row; unparsable fields become None for validation to report."""
    obj = raw if isinstance(raw, dict) else {}
    service_id = to_int(obj.get("id"))
    prices = {k: to_money(obj.get(k)) for k in ("price_min", "price_max")}
    return {
        "company_id": company_id,
        "service_id": service_id,
        "title": to_text(obj.get("title")),
        "category_id": to_int(obj.get("category_id")),
        **prices,
        # A price that is present but not money must not load as "no price".
        "prices_ok": all(obj.get(k) in (None, "") or v is not None for k, v in prices.items()),
        "active": to_bool(obj.get("active")),
        "booking_url": booking_url(link_template, form_url, company_id=company_id, service_id=service_id),
        "removed_at": None,
        "synced_at": synced_at,
        "raw": raw_json(raw),
    }


def staff_row(
    raw: Any, company_id: int, synced_at: datetime, form_url: str | None, link_template: str
) -> dict[str, Any]:
    """One staff member as a warehouse row."""
    obj = raw if isinstance(raw, dict) else {}
    staff_id = to_int(obj.get("id"))
    return {
        "company_id": company_id,
        "staff_id": staff_id,
        "name": to_text(obj.get("name")),
        "specialization": to_text(obj.get("specialization")),
        "fired": to_bool(obj.get("fired", 0)),
        "hidden": to_bool(obj.get("hidden", 0)),
        "booking_url": booking_url(link_template, form_url, company_id=company_id, staff_id=staff_id),
        "removed_at": None,
        "synced_at": synced_at,
        "raw": raw_json(raw),
    }
