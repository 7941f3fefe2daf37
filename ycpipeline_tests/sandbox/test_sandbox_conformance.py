"""The sandbox answers in the official description's shapes: for every endpoint we use, each object has
every key of the official example (samples/official/, quoted from yclientsru.apib) with a compatible JSON
type, and nothing the example lacks unless a cited source has it; errors are the documented bodies."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from ycpipeline_sandbox import CompanyStatus, Sandbox
from ycpipeline_tests.conftest import ANCHOR
from ycpipeline_tests.support.official_samples import sample, shape_problems

COMPANY = 235564
# Keys the examples lack that other sources show (docs/api-assumptions.md lists each one):
OPENAPI = "the current official description (OpenAPI models shipped in the PyPI package yclients 0.1.1)"
LIVE_STAFF = "mkosinov/yclientsapi src/yclientsapi/schema/staff.py (written against the live API)"
LIVE_RECORD = "mkosinov/yclientsapi src/yclientsapi/schema/record.py (written against the live API)"
STAFF_TABLE = "the staff field table, yclientsru.apib:4068"
RECORD_EXTRAS = {
    "data.payment_status": OPENAPI,
    "data[].payment_status": OPENAPI,
    "data.services[].cost_to_pay": LIVE_RECORD,
    "data[].services[].cost_to_pay": LIVE_RECORD,
    "data[].clients_count": "the one-record example, yclientsru.apib:6025",
    "data.online": "the records list example, yclientsru.apib:5505",
    # Custom fields are keyed by each company's own field codes (yclientsru.apib:5660).
    "data.custom_fields.source": "yclientsru.apib:5660",
    "data[].custom_fields.source": "yclientsru.apib:5660",
}
STAFF_EXTRAS = {
    **{f"data[].{k}": STAFF_TABLE for k in ("api_id", "weight", "show_rating", "rating", "votes_count")},
    **{f"data[].{k}": STAFF_TABLE for k in ("comments_count", "information", "image_group")},
    **{f"data[].{k}": LIVE_STAFF for k in ("is_fired", "dismissal_date", "dismissal_reason", "is_deleted")},
    "data[].user_id": LIVE_STAFF,
}


@pytest.fixture
def api(sandbox_http: httpx.Client) -> httpx.Client:
    """The sandbox over loopback HTTP."""
    return sandbox_http


def _conforms(body: Any, example: str, extras: dict[str, str] | None = None) -> None:
    problems = sorted(set(shape_problems(body, [sample(example)], allowed_extra=extras or {})))
    assert problems == [], f"sandbox vs {example}.json:\n" + "\n".join(problems)


def _as_list(body: dict[str, Any]) -> dict[str, Any]:
    """A one-object answer as the list answer the example shows, to compare the object itself."""
    return {**body, "data": [body["data"]], "meta": []}


def test_company(api: httpx.Client) -> None:
    _conforms(
        api.get(f"/company/{COMPANY}", params={"forBooking": 1}).json(),
        "company",
        {"data.timezone_name": OPENAPI},
    )
    plain = api.get(f"/company/{COMPANY}").json()["data"]
    assert "next_slot" not in plain and "active_staff_count" not in plain  # only with forBooking=1


@pytest.mark.parametrize(
    ("path", "example"),
    [
        ("/company/{c}/services", "services"),
        ("/services/{c}", "services_legacy"),
        ("/company/{c}/service_categories", "service_categories"),
        ("/service_categories/{c}", "service_categories_legacy"),
    ],
)
def test_catalogue_lists(api: httpx.Client, path: str, example: str) -> None:
    _conforms(api.get(path.format(c=COMPANY)).json(), example)


def test_one_service_and_one_category(api: httpx.Client, sandbox: Sandbox) -> None:
    service_id = sandbox.state.services(COMPANY)[3]["id"]
    for path in (f"/company/{COMPANY}/services/{service_id}", f"/services/{COMPANY}/{service_id}"):
        _conforms(_as_list(api.get(path).json()), "services_legacy")
    category_id = sandbox.state.service_categories(COMPANY)[0]["id"]
    _conforms(
        api.get(f"/service_category/{COMPANY}/{category_id}").json(),
        "service_category",
        {"data.api_id": "yclientsru.apib:2684"},
    )


def test_staff(api: httpx.Client, sandbox: Sandbox) -> None:
    _conforms(api.get(f"/company/{COMPANY}/staff").json(), "staff", STAFF_EXTRAS)
    _conforms(api.get(f"/staff/{COMPANY}").json(), "staff_legacy")
    member = sandbox.state.staff(COMPANY)[4]["id"]
    _conforms(_as_list(api.get(f"/company/{COMPANY}/staff/{member}").json()), "staff", STAFF_EXTRAS)


def test_records_list_with_and_without_extras(api: httpx.Client) -> None:
    window = {"start_date": str(ANCHOR - timedelta(days=19)), "end_date": str(ANCHOR), "count": 300}
    full = api.get(
        f"/records/{COMPANY}", params={**window, "include_consumables": 1, "include_finance_transactions": 1}
    )
    body = full.json()
    assert len(body["data"]) > 100
    _conforms(body, "records", RECORD_EXTRAS)
    # What the list example leaves null (the client), against the one-record example.
    for record in (r for r in body["data"] if r["client"]):
        _conforms({"success": True, "data": record, "meta": []}, "record", RECORD_EXTRAS)
    plain = api.get(f"/records/{COMPANY}", params=window).json()["data"]
    assert not any("consumables" in r or "finance_transactions" in r for r in plain)


def test_one_record_with_everything(api: httpx.Client, sandbox: Sandbox) -> None:
    rich = next(
        r
        for r in sandbox.state.iter_records(COMPANY, ANCHOR.replace(day=1), ANCHOR)
        if r["client"] and r["consumables"] and r["finance_transactions"] and r["record_labels"]
    )
    body = api.get(
        f"/record/{COMPANY}/{rich['id']}",
        params={"include_consumables": 1, "include_finance_transactions": 1},
    ).json()
    _conforms(body, "record", RECORD_EXTRAS)
    assert body["data"]["id"] == rich["id"]


def test_client_accounts_and_hooks_settings(api: httpx.Client, sandbox: Sandbox) -> None:
    client_id = next(r["client"]["id"] for r in sandbox.state.day_records(COMPANY, ANCHOR) if r["client"])
    _conforms(api.get(f"/client/{COMPANY}/{client_id}").json(), "client")
    _conforms(api.get(f"/accounts/{COMPANY}").json(), "accounts")
    _conforms(api.get(f"/hooks_settings/{COMPANY}").json(), "hooks_settings")
    saved = api.post(f"/hooks_settings/{COMPANY}", json=sample("hooks_settings")["data"])
    assert saved.status_code == 201
    # The saved example lacks `good` (yclientsru.apib:14806) where the read one has it: the sandbox keeps it.
    _conforms(saved.json(), "hooks_settings_saved", {"data.good": "yclientsru.apib:14733"})


def test_staff_schedule_and_finance_transactions(api: httpx.Client, sandbox: Sandbox) -> None:
    member = sandbox.state.staff(COMPANY)[2]["id"]
    week = f"{ANCHOR - timedelta(days=6)}/{ANCHOR}"
    _conforms(api.get(f"/schedule/{COMPANY}/{member}/{week}").json(), "staff_schedule")
    start = str(ANCHOR - timedelta(days=7))
    body = api.get(
        f"/transactions/{COMPANY}", params={"start_date": start, "end_date": str(ANCHOR), "count": 300}
    ).json()
    assert len(body["data"]) > 20
    _conforms(body, "transactions")


def _formatted(name: str, **ids: int) -> dict[str, Any]:
    body = sample(name)
    body["meta"]["message"] = body["meta"]["message"].format(**ids)
    return body


@pytest.mark.parametrize(
    ("path", "status", "example", "ids"),
    [
        ("/company/999/services", 404, "error_company_not_found_404", {}),
        ("/company/abc/services", 404, "error_not_found_404", {}),
        ("/company/{c}/services/1", 404, "error_service_not_found_404", {}),
        ("/company/{c}/staff/77", 404, "error_staff_not_found_404", {"staff_id": 77}),
        ("/company/{c}/service_categories/5", 404, "error_category_not_found_404", {}),
        ("/company/{c}/staff/x", 404, "error_staff_missing_404", {}),
        ("/company/{c}/services/x", 404, "error_service_missing_404", {}),
    ],
)
def test_error_bodies_are_the_documented_ones(
    api: httpx.Client, path: str, status: int, example: str, ids: dict[str, int]
) -> None:
    answer = api.get(path.format(c=COMPANY))
    assert answer.status_code == status
    expected = _formatted(example, company_id=COMPANY, **ids) if ids else sample(example)
    expected["meta"].pop(
        "errors", None
    )  # the description's example carries a filter error we have no cause for
    assert answer.json() == expected


def test_a_refused_filter(api: httpx.Client) -> None:
    answer = api.get(f"/records/{COMPANY}", params={"start_date": "yesterday"})
    assert answer.status_code == 400
    _conforms(answer.json(), "error_bad_filter_400")


def test_records_without_a_company(api: httpx.Client) -> None:
    answer = api.get("/records/")
    assert (answer.status_code, answer.json()) == (404, sample("error_company_missing_404"))


@pytest.mark.parametrize(("status", "example"), [(403, "error_licence_403"), (402, "error_licence_402")])
def test_licence_answers_of_one_company(
    api: httpx.Client, sandbox: Sandbox, status: int, example: str
) -> None:
    sandbox.reconfigure(company_status={COMPANY: CompanyStatus(status)})
    answer = api.get(f"/records/{COMPANY}")
    assert (answer.status_code, answer.json()) == (status, _formatted(example, company_id=COMPANY))


@pytest.mark.parametrize(("status", "example"), [(401, "error_code_401"), (404, "error_code_404")])
def test_the_error_code_envelope(api: httpx.Client, sandbox: Sandbox, status: int, example: str) -> None:
    sandbox.reconfigure(
        company_status={COMPANY: CompanyStatus(status, "explicit error message", "error_code")}
    )
    answer = api.get(f"/company/{COMPANY}/staff")
    assert (answer.status_code, answer.json()) == (status, sample(example))
