"""Schema drift from the declarations: every stream's items are compared with the fields it declares while
it loads; a field the API adds, drops or retypes is recorded in `yclients.schema_drift` and loading goes on."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, text

from ycpipeline.client import YClientsClient
from ycpipeline.serving import serve_in_thread
from ycpipeline.sync.companies import company_timezone
from ycpipeline.sync.records import sync_records
from ycpipeline.sync.streams import STREAMS
from ycpipeline_sandbox import Sandbox
from ycpipeline_tests.conftest import ANCHOR, sandbox_client
from ycpipeline_tests.support.clients import client_options
from ycpipeline_tests.support.edited_answers import EditedAnswers
from ycpipeline_tests.support.helpers import definitions
from ycpipeline_tests.support.stream_loads import load

COMPANY = 235564


def _drifts(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text(
                    "SELECT stream, field, change, kinds, resolved_at IS NULL FROM yclients.schema_drift "
                    "ORDER BY stream, field, change"
                )
            )
        ]


def test_every_declared_stream_and_the_records_read_the_sandbox_without_drift(
    engine: Engine, client: YClientsClient
) -> None:
    """The declarations match what the sandbox serves (which follows the official description)."""
    for stream in STREAMS:
        result = load(stream, client, engine, COMPANY, wanted=[1, 2, 3])
        assert result.fetched > 0 or stream.cadence == "webhook", stream.name
    zone = company_timezone(client, engine, COMPANY)
    records = sync_records(client, engine, COMPANY, zone, ANCHOR - timedelta(days=30), ANCHOR)
    assert records.fetched > 0
    assert _drifts(engine) == []


def test_a_field_added_dropped_or_retyped_is_recorded_and_the_load_goes_on(
    engine: Engine, sandbox: Sandbox, client: YClientsClient
) -> None:
    categories = client.service_categories_listing(COMPANY)
    listed = [item for page in categories for item in page.items]

    def drift(envelope: dict[str, Any]) -> None:
        for item in envelope["data"]:
            item["colour"] = "#ff0000"  # added
            item.pop("salon_service_id", None)  # dropped (a field the stream reads)
            item["title"] = [item["title"]]  # retyped: a list where text is declared

    with (
        serve_in_thread(EditedAnswers(sandbox, "/service_categories", drift)) as base,
        sandbox_client(f"{base}/api/v1", options=client_options(page_size=50)) as edited,
    ):
        from ycpipeline.sync.streams import SERVICE_CATEGORIES

        result = load(SERVICE_CATEGORIES, edited, engine, COMPANY)
    # Loading went on: every category was read, and those the retype breaks are quarantined, not lost.
    assert result.fetched == len(listed)
    assert result.counts.created + result.rejected == len(listed)
    assert _drifts(engine) == [
        ("service_categories", "colour", "added", "string", True),
        ("service_categories", "salon_service_id", "dropped", "", True),
        ("service_categories", "title", "retyped", "array", True),
    ]
    # A second read with the same answers counts them again instead of adding rows; a clean read closes them.
    load(SERVICE_CATEGORIES, client, engine, COMPANY)
    assert [row[-1] for row in _drifts(engine)] == [False, False, False]


def test_a_record_field_retyped_on_one_page_is_recorded_once(
    engine: Engine, sandbox: Sandbox, client: YClientsClient
) -> None:
    def retype(envelope: dict[str, Any]) -> None:
        envelope["data"][0]["attendance"] = {"value": 1}  # an object where a number is declared

    with (
        serve_in_thread(EditedAnswers(sandbox, f"/records/{COMPANY}", retype)) as base,
        sandbox_client(f"{base}/api/v1", options=client_options(page_size=20)) as edited,
    ):
        zone = company_timezone(edited, engine, COMPANY)
        result = sync_records(edited, engine, COMPANY, zone, ANCHOR - timedelta(days=10), ANCHOR)
    assert result.fetched > 20  # several pages, each retyping its first record
    assert _drifts(engine) == [("records", "attendance", "retyped", "int,object", True)]


def test_every_stream_asset_and_the_records_carry_a_schema_drift_check() -> None:
    checks = {key.name for key in definitions().resolve_asset_graph().asset_check_keys}
    expected = {f"{stream.name}_schema_drift" for stream in STREAMS} | {"records_schema_drift"}
    assert expected <= checks
