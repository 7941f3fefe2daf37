"""Catalogue refresh: exact counts on create, re-run, change, removal and reappearance; quarantine."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import Engine, text

from ycpipeline.client import YClientsClient
from ycpipeline.sync.streams import SERVICES
from ycpipeline_sandbox import Sandbox
from ycpipeline_tests.support.clients import client_options
from ycpipeline_tests.support.stream_loads import load

FORM = "https://n239661.yclients.com"
TEMPLATE = "{form}/company/{company_id}/personal/select-services?o=s{service_id}"


def _sync(client: YClientsClient, engine: Engine):  # type: ignore[no-untyped-def]
    return load(
        SERVICES, client, engine, 235564, booking_form_url=FORM, service_link_template=TEMPLATE, run_id="t"
    )


def test_counts_on_create_rerun_change_removal_and_return(
    client: YClientsClient, engine: Engine, sandbox: Sandbox
) -> None:
    total = len(sandbox.state.services(235564))
    first = _sync(client, engine)
    assert (first.counts.created, first.counts.updated, first.counts.unchanged, first.retired) == (
        total,
        0,
        0,
        0,
    )
    again = _sync(client, engine)
    assert (again.counts.created, again.counts.updated, again.counts.unchanged) == (0, 0, total)

    some = int(sandbox.state.services(235564)[0]["id"])
    sandbox.state.rename_service(235564, some, "Стрижка «Новая» ✂️")
    changed = _sync(client, engine)
    assert (changed.counts.updated, changed.counts.unchanged) == (1, total - 1)

    sandbox.state.remove_service(235564, some)
    removed = _sync(client, engine)
    assert removed.retired == 1 and removed.counts.unchanged == total - 1
    with engine.connect() as conn:
        assert conn.execute(
            text("SELECT removed_at IS NOT NULL FROM yclients.services WHERE service_id = :s"), {"s": some}
        ).scalar_one()

    sandbox.state.restore_service(235564, some)
    back = _sync(client, engine)
    assert (back.counts.updated, back.retired) == (1, 0)
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT removed_at, title, booking_url FROM yclients.services WHERE service_id = :s"),
            {"s": some},
        ).one()
    assert row.removed_at is None and row.title == "Стрижка «Новая» ✂️"
    assert row.booking_url == f"{FORM}/company/235564/personal/select-services?o=s{some}"


def test_malformed_service_is_quarantined_and_the_rest_load(engine: Engine, sandbox: Sandbox) -> None:
    good = sandbox.state.services(235564)
    body = {"success": True, "data": [*good, {"id": "abc", "title": "", "price_min": "-1"}], "meta": {}}
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=body))
    with YClientsClient(
        "http://api.test/api/v1",
        __import__("pydantic").SecretStr("p"),
        options=client_options(),
        transport=transport,
    ) as c:
        result = _sync(c, engine)
    assert result.counts.created == len(good) and result.rejected == 1
    with engine.connect() as conn:
        entity, reasons, raw = conn.execute(
            text("SELECT entity, reasons, raw FROM yclients.rejected_rows")
        ).one()
    assert entity == "services"
    assert any("service_id" in r for r in reasons) and any("title" in r for r in reasons)
    assert raw == json.loads(json.dumps(body["data"][-1]))
