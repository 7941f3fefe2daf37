"""Migrations against a real Postgres: `schema.py` and the migrations describe the same tables, and 0007
turns the old webhook audit rows into `done` events of the queue (and back)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, text

from ycpipeline.warehouse.migrate import upgrade
from ycpipeline.warehouse.schema import metadata
from ycpipeline_tests.support.databases import scratch_database


@pytest.fixture
def blank(warehouse_url: str, worker_id: str) -> Iterator[Engine]:
    """An empty database of its own (migrations are tested from scratch)."""
    name = f"ycp_migrations_{worker_id}"
    with scratch_database(warehouse_url, name) as url:
        engine = create_engine(url)
        yield engine
        engine.dispose()


def test_schema_py_matches_the_migrated_database(blank: Engine) -> None:
    upgrade(blank)
    with blank.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_schemas": True, "version_table_schema": "yclients"}
        )
        differences = [
            d
            for d in compare_metadata(context, metadata)
            # Alembic's own version table is not described in schema.py.
            if not (d[0] == "remove_table" and d[1].name == "alembic_version")
        ]
    assert differences == []


def test_0007_turns_inbox_audit_rows_into_done_events_and_back(blank: Engine) -> None:
    upgrade(blank, "0006")
    body = {
        "company_id": 235564,
        "resource": "record",
        "resource_id": 7,
        "status": "delete",
        "data": {"id": 7},
    }
    with blank.begin() as conn:
        conn.execute(
            text("""INSERT INTO yclients.webhook_events
                    (event_hash, inbox_name, company_id, resource, resource_id, status, body, run_key)
                    VALUES ('h1', 'f1.json', 235564, 'record', 7, 'delete', CAST(:b AS jsonb), 'webhooks-1'),
                           ('h2', 'f2.json', NULL, NULL, NULL, NULL, '{}', NULL)"""),
            {"b": json.dumps(body)},
        )
    upgrade(blank, "0007")
    with blank.connect() as conn:
        rows = conn.execute(
            text("""SELECT company_id, resource, resource_id, action, status, attempts, body, body_hash, reason
                    FROM yclients.webhook_events ORDER BY id""")
        ).all()
    assert [(r.status, r.action, r.body_hash) for r in rows] == [
        ("done", "delete", "h1"),
        ("done", "update", "h2"),
    ]
    assert rows[0].body == body and rows[0].company_id == 235564 and "webhooks-1" in rows[0].reason
    with blank.begin() as conn:  # the queue works on the migrated table
        conn.execute(
            text("""INSERT INTO yclients.webhook_events (company_id, resource, resource_id, action, body, body_hash)
                    VALUES (1, 'record', 2, 'update', '{}', 'h3')""")
        )
    from alembic import command

    from ycpipeline.warehouse.migrate import alembic_config

    config = alembic_config()
    with blank.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0006")
    with blank.connect() as conn:
        back = conn.execute(text("SELECT event_hash, status FROM yclients.webhook_events ORDER BY 1")).all()
    assert [tuple(r) for r in back] == [("h1", "delete"), ("h2", "update")]  # done events only


def test_0011_tracks_every_company_that_has_a_watermark_so_nothing_is_read_again(blank: Engine) -> None:
    """An existing deployment moving to salons as partitions: each company it synced keeps its
    watermark and becomes a tracked company, whatever YCLIENTS_COMPANY_ID says later."""
    upgrade(blank, "0010")
    with blank.begin() as conn:
        conn.execute(
            text("""INSERT INTO yclients.sync_state (company_id, stream, watermark, last_reconciled_at)
                    VALUES (235564, 'records', now() - interval '1 hour', now() - interval '2 hours'),
                           (235565, 'records', now() - interval '3 hours', NULL)""")
        )
        before = conn.execute(text("SELECT company_id, watermark FROM yclients.sync_state ORDER BY 1")).all()
    upgrade(blank)
    with blank.connect() as conn:
        tracked = conn.execute(
            text("SELECT company_id, added_by, removed_at FROM yclients.tracked_companies ORDER BY 1")
        ).all()
        after = conn.execute(text("SELECT company_id, watermark FROM yclients.sync_state ORDER BY 1")).all()
    assert [tuple(r) for r in tracked] == [(235564, "upgrade", None), (235565, "upgrade", None)]
    assert after == before
