"""The control endpoints of a sandbox served as a process (`/_sandbox/*`): changes, knobs, faults, stats."""

from __future__ import annotations

from datetime import timedelta

import httpx

from ycpipeline_sandbox import Sandbox
from ycpipeline_tests.conftest import ANCHOR


def test_changes_knobs_faults_and_stats(
    sandbox_url: str, sandbox_http: httpx.Client, sandbox: Sandbox
) -> None:
    control = httpx.Client(base_url=sandbox_url.removesuffix("/api/v1") + "/_sandbox", timeout=10)
    record = sandbox.state.day_records(235564, ANCHOR - timedelta(days=1))[0]
    changed = control.post(
        "/mutations",
        json={"op": "set_attendance", "company_id": 235564, "record_id": record["id"], "attendance": -1},
    )
    assert changed.status_code == 200 and changed.json()["attendance"] == -1
    assert sandbox_http.get(f"/record/235564/{record['id']}").json()["data"]["attendance"] == -1
    unknown = control.post("/mutations", json={"op": "teleport", "company_id": 235564})
    assert unknown.status_code == 400 and "pay_record" in unknown.json()["ops"]
    assert (
        control.post(
            "/mutations", json={"op": "delete_record", "company_id": 235564, "record_id": 7}
        ).status_code
        == 400
    )

    assert control.post("/config", json={"company_status": {"235565": {"status": 402}}}).status_code == 200
    assert sandbox_http.get("/records/235565").status_code == 402
    assert control.post("/config", json={"partner_token": "x"}).status_code == 400  # secrets are not knobs
    wrong = {"served_fields": {"record": {str(record["id"]): {"id": 7}}}, "personal_fields": True}
    assert control.post("/config", json=wrong).status_code == 200
    assert sandbox_http.get(f"/record/235564/{record['id']}").json()["data"]["id"] == 7
    assert "passport_data" in sandbox_http.get("/company/235564/staff").json()["data"][0]["employee"]

    assert (
        control.post("/faults", json={"kind": "status", "status": 503, "path": "/records/235564"}).status_code
        == 200
    )
    assert sandbox_http.get("/records/235564").status_code == 503
    assert sandbox_http.get("/records/235564").status_code == 200
    stats = control.get("/stats").json()
    assert stats["faults_injected"] == 1 and stats["by_path"]["/api/v1/records/235564"] == 2
