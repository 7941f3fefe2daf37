"""The company objects, kept in `yclients.companies` so a tick need not ask for each company's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import Connection, Engine, text

from ycpipeline.client import YClientsClient
from ycpipeline.normalize.values import company_zone, raw_json, to_text

# A company's zone practically never changes; a day-old copy saves a request on almost every tick.
MAX_AGE = timedelta(hours=24)


def stored_zone(conn: Connection, company_id: int, max_age: timedelta | None = MAX_AGE) -> tzinfo | None:
    """The stored zone of a company, or None when unknown or older than `max_age` (None: any age)."""
    row = conn.execute(
        text("SELECT timezone_name, utc_offset, synced_at FROM yclients.companies WHERE company_id = :c"),
        {"c": company_id},
    ).one_or_none()
    if row is None or (max_age is not None and row.synced_at < datetime.now(UTC) - max_age):
        return None
    return company_zone(row.timezone_name, row.utc_offset)


def store_company(conn: Connection, company_id: int, company: dict[str, Any]) -> None:
    """Upsert a company object as `GET /company/{id}` returned it."""
    conn.execute(
        text("""
            INSERT INTO yclients.companies (company_id, title, timezone_name, utc_offset, raw, synced_at)
            VALUES (:c, :title, :name, :offset, CAST(:raw AS jsonb), now())
            ON CONFLICT (company_id) DO UPDATE SET title = EXCLUDED.title,
                timezone_name = EXCLUDED.timezone_name, utc_offset = EXCLUDED.utc_offset,
                raw = EXCLUDED.raw, synced_at = EXCLUDED.synced_at
        """),
        {
            "c": company_id,
            "title": to_text(company.get("title")),
            "name": to_text(company.get("timezone_name")),
            "offset": to_text(company.get("timezone")),
            "raw": raw_json(company),
        },
    )


def company_timezone(client: YClientsClient, engine: Engine, company_id: int) -> tzinfo:
    """The company's time zone: the stored one while fresh, else from the API (and stored)."""
    with engine.connect() as conn:
        zone = stored_zone(conn, company_id)
    if zone is not None:
        return zone
    company = client.get_company(company_id)
    with engine.begin() as conn:
        store_company(conn, company_id, company)
    return company_zone(company.get("timezone_name"), company.get("timezone"))
