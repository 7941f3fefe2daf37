"""Personal data the warehouse has no use for never reaches it.

Contract: with staff and client objects carrying passport, tax (INN) and insurance (SNILS) numbers and
birth dates (the sandbox's `personal_fields`, as third-party client schemas show them), no `raw` column
of any stream, no quarantined row and no stored webhook body holds a field of the deny-list
(`normalize.personal`), while the fields the columns and marts read (names, specializations, phones,
flags) still load. Sandbox and receiver over loopback HTTP, real Postgres.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from ycpipeline.client import YClientsClient
from ycpipeline.normalize.personal import DENIED_FIELDS
from ycpipeline.serving import serve_in_thread
from ycpipeline.sync.companies import company_timezone
from ycpipeline.sync.records import sync_records
from ycpipeline.sync.streams import CASH_LEDGER, CLIENTS, SERVICES, STAFF
from ycpipeline.webhooks.receiver import WEBHOOK_PATH, create_receiver
from ycpipeline_sandbox import Sandbox
from ycpipeline_tests.conftest import ANCHOR
from ycpipeline_tests.support.stream_loads import load

COMPANY = 235564
SECRET = "hook-secret-9f8e7d6c5b4a"
PASSPORT = {"passport_data": "4510 123456", "INN": "771234567890", "birth_date": "1990-05-17"}
# Every place the pipeline stores what the API or a webhook sent.
STORED = {
    "staff": "raw",
    "services": "raw",
    "records": "raw",
    "record_payments": "raw",
    "finance_transactions": "raw",
    "clients": "raw",
    "companies": "raw",
    "rejected_rows": "raw",
    "webhook_events": "body",
}


def _personal_keys(engine: Engine) -> dict[str, set[str]]:
    """Denied keys found anywhere in each stored JSON column (by table)."""
    found: dict[str, set[str]] = {}
    with engine.connect() as conn:
        for table, column in STORED.items():
            keys = conn.execute(
                text(f"""
                    WITH RECURSIVE walk(value) AS (
                        SELECT {column} FROM yclients.{table} WHERE {column} IS NOT NULL
                        UNION ALL
                        SELECT child FROM walk, LATERAL (
                            SELECT v FROM jsonb_each(CASE WHEN jsonb_typeof(value) = 'object'
                                                          THEN value ELSE '{{}}' END) AS e(k, v)
                            UNION ALL
                            SELECT v FROM jsonb_array_elements(CASE WHEN jsonb_typeof(value) = 'array'
                                                                    THEN value ELSE '[]' END) AS a(v)
                        ) AS children(child))
                    SELECT DISTINCT lower(k) FROM walk,
                        jsonb_object_keys(CASE WHEN jsonb_typeof(value) = 'object' THEN value ELSE '{{}}' END) AS k
                """)
            ).scalars()
            denied = set(keys) & DENIED_FIELDS
            if denied:
                found[table] = denied
    return found


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM yclients.{table}")).scalar_one())


@pytest.fixture
def receiver(engine: Engine) -> Iterator[str]:
    with serve_in_thread(create_receiver(engine, SECRET)) as base:
        yield f"{base}{WEBHOOK_PATH}/{SECRET}"


def test_no_stream_stores_a_personal_field_and_the_columns_still_load(
    sandbox: Sandbox, client: YClientsClient, engine: Engine
) -> None:
    sandbox.reconfigure(personal_fields=True)
    served = client.list_staff(COMPANY)
    assert all("passport_data" in m["employee"] for m in served)  # what the API sends
    day = ANCHOR - timedelta(days=1)
    booked = next(r for r in sandbox.state.day_records(COMPANY, day) if r.get("client"))
    paid = next(t for r in sandbox.state.day_records(COMPANY, day) for t in r["finance_transactions"])
    sandbox.reconfigure(
        served_fields={
            "records": {booked["id"]: {"client": {**booked["client"], **PASSPORT}}},
            "transactions": {paid["id"]: {"client": {"id": "7", "name": "Анна", **PASSPORT}}},
        }
    )
    # A staff member without a name is quarantined: its raw in rejected_rows is cut too.
    sandbox.state.update_staff(COMPANY, served[1]["id"], name=None)
    zone = company_timezone(client, engine, COMPANY)

    staff = load(STAFF, client, engine, COMPANY, booking_form_url=None, staff_link_template="{form}")
    load(SERVICES, client, engine, COMPANY, booking_form_url=None, service_link_template="{form}")
    sync_records(client, engine, COMPANY, zone, day, day)
    clients = load(CLIENTS, client, engine, COMPANY)
    now = datetime.combine(ANCHOR, datetime.min.time(), UTC) + timedelta(hours=12)
    load(CASH_LEDGER, client, engine, COMPANY, now=now, cash_ledger_overlap_days=3, cash_ledger_wide_days=10)

    assert _personal_keys(engine) == {}
    assert staff.rejected == 1 and clients.fetched > 0 and _count(engine, "finance_transactions") > 0
    with engine.connect() as conn:
        member = conn.execute(
            text("""SELECT name, specialization, fired, raw->'employee'->>'surname', raw->'user'->>'phone'
                    FROM yclients.staff WHERE staff_id = :s"""),
            {"s": served[0]["id"]},
        ).one()
        record = conn.execute(
            text(
                "SELECT client_name, client_phone, raw->'client'->>'name' FROM yclients.records WHERE record_id = :r"
            ),
            {"r": booked["id"]},
        ).one()
        phones = conn.execute(text("SELECT count(phone) FROM yclients.clients")).scalar_one()
    employee = served[0]["employee"]
    assert tuple(member) == (
        served[0]["name"],
        served[0]["specialization"],
        bool(served[0]["fired"]),
        employee["surname"],
        served[0]["user"]["phone"],
    )
    assert record[0] == booked["client"]["name"] == record[2] and record[1] is not None
    assert phones == clients.fetched


def test_webhook_bodies_are_stored_without_personal_fields(
    sandbox: Sandbox, client: YClientsClient, engine: Engine, receiver: str
) -> None:
    sandbox.reconfigure(personal_fields=True)
    member = client.list_staff(COMPANY)[0]
    event: dict[str, Any] = {
        "company_id": COMPANY,
        "resource": "staff",
        "resource_id": member["id"],
        "status": "update",
        "data": member,
    }
    refused = {**event, "status": "renamed"}  # malformed: kept whole in rejected_rows
    broken = (
        json.dumps(event, ensure_ascii=False)[:-1] + ', "inn": "771234567890"'
    )  # not JSON: its text head is kept

    accepted = httpx.post(receiver, json=event)
    malformed = httpx.post(receiver, json=refused)
    unparsable = httpx.post(receiver, content=broken, headers={"content-type": "application/json"})

    assert (accepted.status_code, malformed.status_code, unparsable.status_code) == (200, 422, 400)
    assert _personal_keys(engine) == {}
    with engine.connect() as conn:
        body = conn.execute(text("SELECT body FROM yclients.webhook_events")).scalar_one()
        (head,) = conn.execute(
            text("SELECT raw->>'unparsed' FROM yclients.rejected_rows WHERE raw ? 'unparsed'")
        ).scalars()
    personal = [member["employee"]["passport_data"], member["employee"]["number_insurance_certificates"]]
    assert not [value for value in [*personal, "771234567890"] if value in head], head
    assert member["name"] in head
    assert body["data"]["name"] == member["name"]
    assert body["data"]["employee"]["surname"] == member["employee"]["surname"]
