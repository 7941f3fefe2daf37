"""Each official example, served verbatim over loopback HTTP, through the real client → normalise → validate
→ warehouse path, with the expected outcome: loaded, quarantined with a reason, or a clear error naming
what to do."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ycpipeline.client import (
    CompanyNotFoundError,
    LicenceRequiredError,
    TokenRejectedError,
    YClientsClient,
    YClientsError,
)
from ycpipeline.normalize.values import company_zone
from ycpipeline.serving import serve_in_thread
from ycpipeline.sync.records import sync_records
from ycpipeline.sync.streams import SERVICES, STAFF
from ycpipeline.webhooks.receiver import WEBHOOK_PATH, create_receiver
from ycpipeline_tests.support.clients import client_options
from ycpipeline_tests.support.official_samples import manifest, sample, sample_text
from ycpipeline_tests.support.stream_loads import load

EXAMPLE_COMPANY = 4564  # the records examples' company
LINK = "{form}/company/{company_id}/personal/select-services?o=s{service_id}"
STAFF_LINK = "{form}/company/{company_id}/personal/select-master?o=m{staff_id}"
YAKUTSK = ZoneInfo("Asia/Yakutsk")  # +09:00, the examples' offset

Answer = tuple[int, str]  # status, body text


@contextmanager
def official_api(routes: dict[str, Callable[[Request], Answer]]) -> Iterator[YClientsClient]:
    """A client of a tiny API on loopback whose paths answer with example bodies, verbatim."""

    def endpoint(answer: Callable[[Request], Answer]) -> Callable[[Request], Any]:
        async def serve(request: Request) -> Response:
            status, body = answer(request)
            return Response(body, status_code=status, media_type="application/json")

        return serve

    app = Starlette(routes=[Route("/api/v1" + path, endpoint(a)) for path, a in routes.items()])
    with (
        serve_in_thread(app) as base,
        YClientsClient(
            f"{base}/api/v1",
            SecretStr("partner"),
            SecretStr("user"),
            options=client_options(page_size=50, backoff_base=0.01, max_attempts=2),
        ) as client,
    ):
        yield client


def verbatim(name: str, status: int = 200) -> Callable[[Request], Answer]:
    return lambda request: (status, sample_text(name))


def _rows(engine: Engine, sql: str) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql)).all())


def test_the_manifest_names_a_source_for_every_sample() -> None:
    listed = manifest()
    files = {s["file"] for s in listed["samples"]} | {s["file"] for s in listed["captured"]}
    on_disk = {p.name for p in (Path(__file__).parents[1] / "samples" / "official").glob("*.json")} - {
        "manifest.json"
    }
    assert files == on_disk
    assert all(s["source"].startswith("yclientsru.apib:") for s in listed["samples"])
    assert all(s["source"].startswith("https://github.com/") for s in listed["captured"])


@pytest.mark.parametrize("example", ["services", "services_legacy"])
def test_services_examples_load(engine: Engine, example: str) -> None:
    with official_api({"/company/{c}/services": verbatim(example)}) as client:
        result = load(
            SERVICES,
            client,
            engine,
            EXAMPLE_COMPANY,
            booking_form_url="https://n1.yclients.com",
            service_link_template=LINK,
        )
    assert (result.counts.created, result.rejected) == (2, 0)
    assert _rows(engine, "SELECT service_id, price_min, active FROM yclients.services ORDER BY 1") == [
        (79067, 1000, True),
        (83169, 1300, True),
    ]


@pytest.mark.parametrize(("example", "count"), [("staff", 1), ("staff_legacy", 3)])
def test_staff_examples_load(engine: Engine, example: str, count: int) -> None:
    with official_api({"/company/{c}/staff": verbatim(example)}) as client:
        result = load(
            STAFF, client, engine, EXAMPLE_COMPANY, booking_form_url=None, staff_link_template=STAFF_LINK
        )
    assert (result.counts.created, result.rejected) == (count, 0)
    assert _rows(engine, "SELECT bool_or(fired), bool_or(hidden) FROM yclients.staff") == [(False, False)]


def test_company_example_gives_the_time_zone() -> None:
    with official_api({"/company/{c}": verbatim("company")}) as client:
        company = client.get_company(37532)
    assert str(company_zone(company.get("timezone_name"), company.get("timezone"))) == "Europe/Moscow"


def _records(engine: Engine, client: YClientsClient, tz: ZoneInfo, day: date) -> Any:
    return sync_records(client, engine, EXAMPLE_COMPANY, tz, day, day, run_id="official")


def test_records_list_example_loads_and_the_count_mismatch_is_reported(engine: Engine) -> None:
    with official_api({"/records/{c}": verbatim("records"), "/record/{c}/{r}": verbatim("record")}) as client:
        result = _records(engine, client, YAKUTSK, date(2019, 1, 16))
    assert _rows(engine, "SELECT record_id FROM yclients.records ORDER BY 1") == [(2,), (9,)]
    # Of the 10 announced: both passes agree, so the shortfall is loaded and left to the asset check.
    assert (result.fetched, result.api_total_count, result.count_mismatch) == (2, 10, "stable")


def _as_list(name: str) -> Callable[[Request], Answer]:
    body = sample(name)
    return lambda request: (
        200,
        json.dumps({"success": True, "data": [body["data"]], "meta": {"total_count": 1}}),
    )


def test_one_record_example_loads(engine: Engine) -> None:
    with official_api({"/records/{c}": _as_list("record")}) as client:
        result = _records(engine, client, YAKUTSK, date(2019, 1, 17))
    assert (result.counts.created, result.rejected) == (1, 0)
    assert _rows(engine, "SELECT record_id, client_phone, total_cost, attendance FROM yclients.records") == [
        (2, "+70001234567", 100, 0)
    ]


def test_visit_date_is_the_apis_own_date(engine: Engine) -> None:
    # 03:30 on 17 January at +09:00 is still the 16th in Moscow; the API's `date` says the 17th.
    with official_api({"/records/{c}": _as_list("record")}) as client:
        _records(engine, client, ZoneInfo("Europe/Moscow"), date(2019, 1, 17))
    assert _rows(engine, "SELECT visit_date FROM yclients.records") == [(date(2019, 1, 17),)]


def test_record_fields_become_columns(engine: Engine) -> None:
    with official_api({"/records/{c}": _as_list("record")}) as client:
        _records(engine, client, YAKUTSK, date(2019, 1, 17))
    [(visit_id, paid_full, prepaid, confirmed, created_user_id)] = _rows(
        engine, "SELECT visit_id, paid_full, prepaid, confirmed, created_user_id FROM yclients.records"
    )
    assert (int(visit_id), bool(paid_full), bool(prepaid), bool(confirmed)) == (8263004, False, False, True)
    assert int(created_user_id) == 1073232


def test_staff_deletion_and_dismissal_become_columns(engine: Engine) -> None:
    member = {
        **sample("staff")["data"][0],
        "status": 1,
        "is_deleted": True,
        "fired": 1,
        "dismissal_date": "2026-06-30",
    }
    body = json.dumps({"success": True, "data": [member], "meta": {"total_count": 1}})
    with official_api({"/company/{c}/staff": lambda r: (200, body)}) as client:
        load(STAFF, client, engine, EXAMPLE_COMPANY, booking_form_url=None, staff_link_template=STAFF_LINK)
    [(deleted, dismissal_date)] = _rows(engine, "SELECT deleted, dismissal_date FROM yclients.staff")
    assert (bool(deleted), str(dismissal_date)[:10]) == (True, "2026-06-30")


@pytest.mark.parametrize(
    ("example", "status", "error", "hint"),
    [
        ("error_company_not_found_404", 404, CompanyNotFoundError, "YCLIENTS_COMPANY_ID"),
        ("error_licence_403", 403, LicenceRequiredError, "licence"),
        ("error_code_401", 401, TokenRejectedError, "YCLIENTS_API_TOKEN"),
    ],
)
def test_error_examples_give_a_clear_error(
    example: str, status: int, error: type[Exception], hint: str
) -> None:
    with (
        official_api({"/company/{c}/services": verbatim(example, status)}) as client,
        pytest.raises(error) as raised,
    ):
        client.list_services(EXAMPLE_COMPANY)
    assert hint in str(raised.value)


def test_licence_402_example_says_licence() -> None:
    with (
        official_api({"/company/{c}/services": verbatim("error_licence_402", 402)}) as client,
        pytest.raises(YClientsError) as raised,
    ):
        client.list_services(EXAMPLE_COMPANY)
    assert "licence" in str(raised.value)


def test_not_found_for_an_empty_list_means_empty(engine: Engine) -> None:
    not_found = json.dumps({"success": False, "data": None, "meta": {"message": "Не найдено"}})
    with official_api({"/records/{c}": lambda r: (200, not_found)}) as client:
        result = _records(engine, client, YAKUTSK, date(2019, 1, 16))
    assert result.fetched == 0


def test_company_level_404_on_a_reread_deletes_nothing(engine: Engine) -> None:
    with official_api({"/records/{c}": _as_list("record")}) as client:
        _records(engine, client, YAKUTSK, date(2019, 1, 17))
    empty = json.dumps({"success": True, "data": [], "meta": {"page": 1, "total_count": 0}})
    routes = {
        "/records/{c}": lambda r: (200, empty),
        "/record/{c}/{r}": verbatim("error_company_not_found_404", 404),
    }
    with official_api(routes) as client, pytest.raises(CompanyNotFoundError):
        _records(engine, client, YAKUTSK, date(2019, 1, 17))
    assert _rows(engine, "SELECT deleted FROM yclients.records") == [(False,)]


@pytest.mark.parametrize("captured", [s["file"][:-5] for s in manifest()["captured"]])
def test_captured_webhooks_are_accepted(engine: Engine, captured: str) -> None:
    with serve_in_thread(create_receiver(engine, "s3cret")) as base:
        answer = httpx.post(f"{base}{WEBHOOK_PATH}/s3cret", content=sample_text(captured), timeout=10)
    assert answer.status_code == 200, answer.text
    # Queued as it came; the sensor sets goods aside as not synced (webhooks/test_webhook_queue.py).
    body = json.loads(sample_text(captured))
    assert _rows(engine, "SELECT resource, status FROM yclients.webhook_events") == [
        (body["resource"], "pending")
    ]
