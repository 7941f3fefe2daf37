"""Migration 0006 on a database of its own: the SQL backfill agrees with the Python normalisers, an
incompatible app-owned `loyalty.app_users` stops it with what to change, and it goes down and up again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from sqlalchemy import Engine, create_engine, text

from ycpipeline.loyalty.app_users import AppUsersMismatchError, app_users_problems
from ycpipeline.normalize.catalog import staff_row
from ycpipeline.normalize.records import record_row
from ycpipeline.warehouse.migrate import alembic_config, upgrade
from ycpipeline_tests.support.databases import scratch_database

SAMPLES = Path(__file__).parents[1] / "samples"
OFFICIAL_RECORDS = json.loads((SAMPLES / "apib_records_list.json").read_text())["body"]["data"]
OUR_RECORDS = json.loads((SAMPLES / "records_page.json").read_text())["data"]
OFFICIAL_STAFF = json.loads((SAMPLES / "apib_staff_list.json").read_text())["body"]["data"]
# Shapes no example shows but a real payload may send: booleans for the numeric flags, a numeric string,
# labels as an empty object.
ODD_RECORDS = [
    {**OUR_RECORDS[0], "id": 77, "confirmed": True, "paid_full": False, "payment_status": 2},
    {**OUR_RECORDS[0], "id": 78, "payment_status": "3", "record_labels": {}},
]
CURRENT_STAFF = [  # the shape public client code reads today (is_deleted, dismissal_*)
    {"id": 7, "name": "Оля", "fired": 1, "is_fired": True, "dismissal_date": "2024-02-29",
     "dismissal_reason": "переезд", "is_deleted": False, "status": 1, "hidden": 0},
    {"id": 8, "name": "Ира", "fired": 0, "is_fired": False, "dismissal_date": None, "is_deleted": True, "status": 0},
]  # fmt: skip
NEW_RECORD_COLUMNS = [
    "visit_id", "visit_attendance", "confirmed", "online", "paid_full", "payment_status", "prepaid",
    "prepaid_confirmed", "created_user_id", "master_request", "activity_id", "api_id", "from_url",
    "record_labels",
]  # fmt: skip
NEW_STAFF_COLUMNS = ["deleted", "dismissal_date", "dismissal_reason", "status"]


@pytest.fixture
def scratch(warehouse_url: str, worker_id: str) -> Iterator[Engine]:
    """An empty database next to the test warehouse, dropped afterwards."""
    name = f"ycp_{worker_id}_migration"
    with scratch_database(warehouse_url, name) as url:
        engine = create_engine(url)
        yield engine
        engine.dispose()


def _insert_before_0006(engine: Engine, records: list[dict[str, Any]], staff: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        for raw in records:
            conn.execute(
                text("""
                INSERT INTO yclients.records (company_id, record_id, visit_date, starts_at, duration_seconds,
                    attendance, deleted, total_cost, synced_at, raw)
                VALUES (1, :id, '2026-11-20', now(), 3600, 0, false, 0, now(), CAST(:raw AS jsonb))"""),
                {"id": raw["id"], "raw": json.dumps(raw)},
            )
        for raw in staff:
            conn.execute(
                text("""
                INSERT INTO yclients.staff (company_id, staff_id, name, fired, hidden, synced_at, raw)
                VALUES (1, :id, 'x', false, false, now(), CAST(:raw AS jsonb))"""),
                {"id": int(raw["id"]), "raw": json.dumps(raw)},
            )


def test_the_backfill_fills_what_the_normalisers_would(scratch: Engine) -> None:
    upgrade(scratch, "0005")
    _insert_before_0006(scratch, OFFICIAL_RECORDS + OUR_RECORDS + ODD_RECORDS, OFFICIAL_STAFF + CURRENT_STAFF)
    upgrade(scratch)
    now = datetime.now(UTC)
    with scratch.connect() as conn:
        stored = {
            r.record_id: r._mapping
            for r in conn.execute(
                text(f"SELECT record_id, {', '.join(NEW_RECORD_COLUMNS)} FROM yclients.records")
            )
        }
        stored_staff = {
            r.staff_id: r._mapping
            for r in conn.execute(
                text(f"SELECT staff_id, {', '.join(NEW_STAFF_COLUMNS)} FROM yclients.staff")
            )
        }
    for raw in OFFICIAL_RECORDS + OUR_RECORDS + ODD_RECORDS:
        row, _ = record_row(raw, 1, ZoneInfo("Europe/Moscow"), now)
        assert row["problems"] == []
        expected = {c: row[c] for c in NEW_RECORD_COLUMNS}
        expected["record_labels"] = json.loads(expected["record_labels"])
        assert dict(stored[raw["id"]]) == {"record_id": raw["id"], **expected}
    labels = stored[9]["record_labels"]  # the documented example with labels (yclientsru.apib:5600-5614)
    assert labels == [
        {"id": 67345, "title": "Сотрудник не важен"},
        {"id": 104474, "title": "важная категория"},
    ]
    for raw in OFFICIAL_STAFF + CURRENT_STAFF:
        row = staff_row(raw, 1, now, None, "")
        assert dict(stored_staff[int(raw["id"])]) == {
            "staff_id": int(raw["id"]),
            **{c: row[c] for c in NEW_STAFF_COLUMNS},
        }


def test_an_incompatible_app_users_table_stops_the_migration_saying_what_to_change(scratch: Engine) -> None:
    with scratch.begin() as conn:  # the app's own table, created before the pipeline's first migration
        conn.execute(text("CREATE SCHEMA loyalty"))
        conn.execute(text("CREATE TABLE loyalty.app_users (user_id bigint, phone integer, code text)"))
    with pytest.raises(AppUsersMismatchError) as failed:
        upgrade(scratch)
    message = str(failed.value)
    assert "ALTER TABLE loyalty.app_users ADD COLUMN unique_code text UNIQUE" in message
    assert "ALTER TABLE loyalty.app_users ALTER COLUMN phone TYPE text" in message
    assert "ALTER TABLE loyalty.app_users ADD PRIMARY KEY (user_id)" in message
    with scratch.connect() as conn:  # nothing of the migrations stayed behind
        assert conn.execute(text("SELECT to_regclass('yclients.records')")).scalar() is None


def test_a_compatible_app_users_table_is_accepted_and_left_alone(scratch: Engine) -> None:
    with scratch.begin() as conn:
        conn.execute(text("CREATE SCHEMA loyalty"))
        conn.execute(
            text("""CREATE TABLE loyalty.app_users (user_id integer PRIMARY KEY, unique_code varchar(16),
                    phone varchar(32), email text, created_at timestamptz DEFAULT now())""")
        )
        conn.execute(text("INSERT INTO loyalty.app_users (user_id, phone) VALUES (1, '8 916 000-00-01')"))
    upgrade(scratch)
    with scratch.connect() as conn:
        assert app_users_problems(conn) == []
        assert conn.execute(text("SELECT phone, email FROM loyalty.app_users")).one() == (
            "8 916 000-00-01",
            None,
        )


def test_down_to_0004_and_up_again_keeps_the_queued_records(scratch: Engine) -> None:
    upgrade(scratch, "0005")
    _insert_before_0006(scratch, OUR_RECORDS, [])
    upgrade(scratch)
    with scratch.begin() as conn:  # two more changes of one record: two more queue entries
        conn.execute(text("UPDATE yclients.records SET comment = 'a' WHERE record_id = 512340017"))
        conn.execute(text("UPDATE yclients.records SET comment = 'b' WHERE record_id = 512340017"))
    cfg = alembic_config()
    with scratch.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
    with scratch.connect() as conn:
        queued = conn.execute(text("SELECT record_id FROM loyalty.ledger_queue ORDER BY 1")).scalars().all()
        assert queued == [512340017, 512340018]
    upgrade(scratch)
    with scratch.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM loyalty.ledger_queue")).scalar_one() == 2
