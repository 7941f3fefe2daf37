"""Webhooks as YClients sends them: `POST /hooks_settings` decides which kinds go to which URLs; every kind
the settings offer is emitted by a change that produces it, once, in the documented body
(`company_id`, `resource`, `resource_id`, `status`, `data` = the API object); goods operations have the
shape of payloads captured from the live API."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ycpipeline.serving import serve_in_thread
from ycpipeline_sandbox import Sandbox
from ycpipeline_tests.conftest import ANCHOR
from ycpipeline_tests.support.official_samples import sample, shape_problems

COMPANY = 235564
ALL_KINDS = {
    key: 1
    for key in (
        "salon",
        "service_category",
        "service",
        "master",
        "good",
        "client",
        "record",
        "goods_operations_sale",
        "goods_operations_receipt",
        "goods_operations_consumable",
        "goods_operations_stolen",
        "goods_operations_move",
        "finances_operation",
    )
}


class Collector:
    """A webhook receiver on loopback that keeps what it is sent (and can refuse it)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.status = 200
        self._lock = threading.Lock()

    async def hook(self, request: Request) -> JSONResponse:
        body = await request.json()
        with self._lock:
            self.received.append(body)
        return JSONResponse({"ok": True}, status_code=self.status)


@pytest.fixture
def collector(sandbox: Sandbox) -> Iterator[tuple[str, Collector]]:
    sink = Collector()
    with serve_in_thread(Starlette(routes=[Route("/hook", sink.hook, methods=["POST"])])) as base:
        yield f"{base}/hook", sink
    sandbox.close()


def _settings(api: httpx.Client, url: str, **flags: int) -> None:
    answer = api.post(f"/hooks_settings/{COMPANY}", json={"urls": [url], "active": 1, **flags})
    assert answer.status_code == 201, answer.text


def _completed_unpaid(sandbox: Sandbox) -> dict[str, Any]:
    return next(
        r
        for back in range(1, 30)
        for r in sandbox.state.day_records(COMPANY, ANCHOR - timedelta(days=back))
        if r["attendance"] == 1 and not r["paid_full"] and not r["deleted"] and r["services"]
    )


def test_settings_decide_what_is_sent(
    sandbox_http: httpx.Client, sandbox: Sandbox, collector: tuple[str, Collector]
) -> None:
    url, sink = collector
    assert sandbox_http.get(f"/hooks_settings/{COMPANY}").json()["data"]["active"] == 0
    record = sandbox.state.day_records(COMPANY, ANCHOR - timedelta(days=2))[0]
    service_id = int(sandbox.state.services(COMPANY)[0]["id"])
    sandbox.state.set_attendance(COMPANY, record["id"], -1)  # nothing configured: nothing sent
    _settings(sandbox_http, url, record=1)
    assert sandbox_http.get(f"/hooks_settings/{COMPANY}").json()["data"]["urls"] == [url]
    sandbox.state.set_attendance(COMPANY, record["id"], 1)
    sandbox.state.rename_service(COMPANY, service_id, "Новое имя")  # `service` not enabled
    sandbox.state.set_attendance(
        235565, sandbox.state.day_records(235565, ANCHOR)[0]["id"], 2
    )  # other company
    _settings(sandbox_http, url, record=1, active=0)
    sandbox.state.set_attendance(COMPANY, record["id"], 2)  # inactive
    sandbox.hooks.flush()
    assert [(e["resource"], e["resource_id"], e["data"]["attendance"]) for e in sink.received] == [
        ("record", record["id"], 1)
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"urls": "https://x", "active": 1},
        {"urls": ["ftp://x"], "active": 1},
        {"urls": []},
        {"urls": [], "active": 1, "record": 7},
    ],
)
def test_bad_settings_are_refused(sandbox_http: httpx.Client, body: dict[str, Any]) -> None:
    answer = sandbox_http.post(f"/hooks_settings/{COMPANY}", json=body)
    assert (answer.status_code, answer.json()["success"]) == (400, False)


def test_every_kind_the_settings_offer(
    sandbox_http: httpx.Client, sandbox: Sandbox, collector: tuple[str, Collector]
) -> None:
    url, sink = collector
    _settings(sandbox_http, url, **ALL_KINDS)
    state = sandbox.state
    day = ANCHOR - timedelta(days=3)
    first, second = state.day_records(COMPANY, day)[1:3]
    unpaid = _completed_unpaid(sandbox)
    client_id = next(r["client"]["id"] for r in state.day_records(COMPANY, day) if r["client"])
    service_id = int(state.services(COMPANY)[2]["id"])
    staff_ids = [m["id"] for m in state.staff(COMPANY)[2:4]]
    good_id = state.goods(COMPANY)[1]["good_id"]
    state.update_client(COMPANY, client_id, name="Мария Новая")
    added = state.add_record(COMPANY, datetime.combine(day, time(20), state.timezone(COMPANY)))
    state.set_attendance(COMPANY, first["id"], -1)
    state.delete_record(COMPANY, second["id"])
    state.pay_record(COMPANY, unpaid["id"])
    state.update_service(COMPANY, service_id, price_min="1500.00")
    state.remove_service(COMPANY, int(state.services(COMPANY)[3]["id"]))
    state.update_service_category(COMPANY, state.service_categories(COMPANY)[0]["id"], title="Стрижки 2")
    state.update_staff(COMPANY, staff_ids[0], fired=1)
    state.update_staff(COMPANY, staff_ids[1], is_deleted=True)
    state.update_company(COMPANY, title="Лаванда на Невском")
    state.update_good(COMPANY, good_id, cost=99)
    for kind in ("sale", "receipt", "consumable", "stolen", "move"):
        state.goods_operation(COMPANY, f"goods_operations_{kind}", good_id, 2)
    sandbox.hooks.flush()
    seen = {(e["resource"], e["status"]) for e in sink.received}
    assert seen == {
        ("record", "create"),
        ("record", "update"),
        ("record", "delete"),
        ("finances_operation", "create"),
        ("client", "update"),
        ("service", "update"),
        ("service", "delete"),
        ("service_category", "update"),
        ("staff", "update"),
        ("staff", "delete"),
        ("company", "update"),
        ("good", "update"),
        *((f"goods_operations_{k}", "create") for k in ("sale", "receipt", "consumable", "stolen", "move")),
    }
    assert all(set(e) == {"company_id", "resource", "resource_id", "status", "data"} for e in sink.received)
    assert all(e["company_id"] == COMPANY for e in sink.received)
    # `data` is the API object at the time of the change.
    last = {(e["resource"], e["resource_id"]): e["data"] for e in sink.received}
    api = sandbox_http
    assert last[("record", added["id"])] == api.get(f"/record/{COMPANY}/{added['id']}").json()["data"]
    assert last[("record", unpaid["id"])] == api.get(f"/record/{COMPANY}/{unpaid['id']}").json()["data"]
    assert last[("client", client_id)] == api.get(f"/client/{COMPANY}/{client_id}").json()["data"]
    assert (
        last[("service", service_id)] == api.get(f"/company/{COMPANY}/services/{service_id}").json()["data"]
    )
    assert last[("staff", staff_ids[0])] == api.get(f"/company/{COMPANY}/staff/{staff_ids[0]}").json()["data"]
    assert last[("company", COMPANY)] == api.get(f"/company/{COMPANY}").json()["data"]
    payments = [e["data"] for e in sink.received if e["resource"] == "finances_operation"]
    assert {p["record_id"] for p in payments} == {unpaid["id"]}
    already = sum(t["amount"] for t in unpaid["finance_transactions"])  # a part may have been paid before
    assert already + sum(p["amount"] for p in payments) == sum(s["cost"] for s in unpaid["services"])
    moves = [e["data"] for e in sink.received if e["resource"] == "goods_operations_move"]
    assert sorted(m["amount"] for m in moves) == [-2, 2] and len({m["document_id"] for m in moves}) == 1


@pytest.mark.parametrize(
    ("kind", "captured"),
    [
        ("goods_operations_sale", "captured_goods_operations_sale"),
        ("goods_operations_stolen", "captured_goods_operations_stolen"),
        ("goods_operations_receipt", "captured_goods_operations_receipt"),
    ],
)
def test_goods_operations_have_the_captured_shape(sandbox: Sandbox, kind: str, captured: str) -> None:
    events: list[dict[str, Any]] = []
    sandbox.state.listeners.append(events.append)
    sandbox.state.goods_operation(COMPANY, kind, sandbox.state.goods(COMPANY)[0]["good_id"], 1)
    sandbox.state.update_good(COMPANY, sandbox.state.goods(COMPANY)[0]["good_id"], cost=10)
    operation, good = events
    assert shape_problems(operation, [sample(captured)]) == []
    assert shape_problems(good, [sample("captured_good_update")]) == []
    assert (
        operation["data"]["amount"] < 0
        if kind != "goods_operations_receipt"
        else operation["data"]["amount"] > 0
    )


def test_company_events_named_as_configured(sandbox: Sandbox) -> None:
    events: list[dict[str, Any]] = []
    sandbox.state.listeners.append(events.append)
    sandbox.state.update_company(COMPANY, phone="+78120000001")
    sandbox.reconfigure(company_webhook_resource="salon")
    sandbox.state.update_company(COMPANY, phone="+78120000002")
    assert [e["resource"] for e in events] == ["company", "salon"]


def test_each_event_is_sent_once_even_when_refused(
    sandbox_http: httpx.Client, sandbox: Sandbox, collector: tuple[str, Collector]
) -> None:
    url, sink = collector
    sink.status = 500
    _settings(sandbox_http, url, record=1)
    sandbox.state.set_attendance(COMPANY, sandbox.state.day_records(COMPANY, ANCHOR)[0]["id"], 2)
    sandbox.hooks.flush()
    assert len(sink.received) == 1 and sandbox.hooks.delivered == 0  # no retry, as YClients
