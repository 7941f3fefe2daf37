"""Property-based bad input: nothing crashes a run, every bad object is quarantined with a reason, every
good one loads. Records, services and staff go through the real loaders into Postgres (values past their
column's SQL type, text Postgres cannot store, raw jsonb cannot hold); webhook bodies through the event
parser."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from ycpipeline.client import Listing, Page, Pager
from ycpipeline.client.http import RecordsPage, RequestStats
from ycpipeline.normalize.values import to_int
from ycpipeline.sync.records import sync_records
from ycpipeline.sync.streams import SERVICES, STAFF
from ycpipeline.validation.sqltypes import BIGINT_MAX
from ycpipeline.webhooks.events import parse_body
from ycpipeline_tests.support.stream_loads import load

SAMPLES = Path(__file__).parents[1] / "samples"
GOOD_RECORD = json.loads((SAMPLES / "records_page.json").read_text())["data"][0]
GOOD_SERVICE = {
    "id": "9120034",
    "title": "Стрижка",
    "category_id": "1",
    "price_min": "100.00",
    "price_max": "200.00",
    "active": "1",
}
GOOD_STAFF = {
    "id": "1874421",
    "name": "Анна К.",
    "specialization": "стилист",
    "fired": "0",
    "hidden": "0",
    "status": "0",
    "is_deleted": False,
    "dismissal_date": None,
}
MSK = ZoneInfo("Europe/Moscow")
WINDOW = (date(2000, 1, 1), date(2100, 12, 31))

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.text(alphabet=st.sampled_from("\x00🌸ё\\\"'\n\t%_"), max_size=10),
    st.just("x" * 100_000),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers()),
    st.sampled_from(["1900-01-01T00:00:00+03:00", "9999-12-31T23:59:59+0300", "2026-13-45", "-1", "1e309"]),
    # Moments past the calendar's ends once in UTC, and an amount whose sum overflows decimal's context.
    st.sampled_from(["0001-01-01T01:00:00+05:00", "9999-12-31T23:00:00-05:00", "1e999999999"]),
    # What Postgres cannot store: lone surrogates, NUL, integers just past bigint, money past numeric(12,2).
    st.sampled_from(["\ud800", "код\udc00", "a\x00b", 2**63, -(2**63) - 1, 2**64, 1e11, "100.005", 3e9]),
)
RECORD_FIELDS = [
    "id",
    "datetime",
    "date",
    "attendance",
    "deleted",
    "services",
    "client",
    "seance_length",
    "comment",
    "staff_id",
    "create_date",
    "last_change_date",
    "visit_id",
    "visit_attendance",
    "online",
    "record_labels",
    "created_user_id",
]
LINE_FIELDS = ["id", "cost", "first_cost", "discount", "amount", "title"]


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    """A sample record, sometimes intact, sometimes with fields dropped or replaced by junk."""
    record = copy.deepcopy(GOOD_RECORD)
    record["id"] = draw(st.integers(min_value=1, max_value=50))  # small range: duplicate ids happen
    for field in draw(st.lists(st.sampled_from(RECORD_FIELDS), max_size=3, unique=True)):
        if draw(st.booleans()):
            record.pop(field, None)
        else:
            record[field] = draw(junk)
    if draw(st.booleans()) and isinstance(record.get("services"), list) and record["services"]:
        record["services"][0]["cost"] = draw(st.one_of(st.integers(-(10**12), 10**12), junk))
        record["services"][-1][draw(st.sampled_from(LINE_FIELDS))] = draw(junk)
    if draw(st.booleans()):  # something jsonb cannot hold, deep in a field no column reads
        record["custom_fields"] = {"note": draw(junk)}
    return record


class Pages:
    """Serves a fixed list of objects as the API's pages."""

    def __init__(self, items: list[Any]) -> None:
        self.items, self.page_size, self.stats = items, 10, RequestStats()

    def iter_record_pages(self, *args: Any, **kwargs: Any) -> Iterator[RecordsPage]:
        for n, i in enumerate(range(0, max(len(self.items), 1), 10), start=1):
            yield RecordsPage(n, self.items[i : i + 10], len(self.items))

    def get_record(self, *args: Any) -> None:
        return None

    def _whole(self) -> Listing:
        # As the legacy catalogue paths answer: the whole list, `meta` without a total.
        page = Page(1, self.items, None)
        pager = Pager(max(len(self.items), 1))
        pager.whole(page)
        return Listing(iter([page]), pager)

    def services_listing(self, company_id: int) -> Listing:
        return self._whole()

    def staff_listing(self, company_id: int) -> Listing:
        return self._whole()


def _accounted(engine: Engine, table: str, key: str, items: list[Any]) -> None:
    """Every item is loaded or quarantined: by its id when it has a usable one, else as a keyless reject."""
    with engine.connect() as conn:
        loaded = {str(k) for k in conn.execute(text(f"SELECT {key} FROM yclients.{table}")).scalars()}
        rejected = conn.execute(text("SELECT source_key, reasons FROM yclients.rejected_rows")).all()
    assert all(reasons for _, reasons in rejected)  # every quarantined row says why
    rejected_keys = {k for k, _ in rejected}
    keyless = 0
    for item in items:
        ident = to_int(item.get("id")) if isinstance(item, dict) else None
        if ident is not None and ident > 0:
            assert str(ident) in loaded | rejected_keys, item
        else:
            keyless += 1
    unusable = [k for k, _ in rejected if k is None or not k.isdigit() or int(k) <= 0]
    assert (len(unusable) > 0) == (keyless > 0)


def _empty(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "TRUNCATE yclients.records, yclients.record_services, yclients.rejected_rows, "
                "yclients.services, yclients.staff, yclients.sync_log"
            )
        )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(st.one_of(records(), junk), min_size=1, max_size=25))
def test_bad_records_are_quarantined_and_good_ones_load(engine: Engine, items: list[Any]) -> None:
    _empty(engine)
    sync_records(Pages(items), engine, 235564, MSK, *WINDOW)  # type: ignore[arg-type]
    _accounted(engine, "records", "record_id", items)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(min_value=1, max_value=5))
def test_intact_records_always_load(engine: Engine, n: int) -> None:
    _empty(engine)
    items = [{**copy.deepcopy(GOOD_RECORD), "id": i} for i in range(1, n + 1)]
    result = sync_records(Pages(items), engine, 235564, MSK, *WINDOW)  # type: ignore[arg-type]
    assert (result.counts.created, result.rejected) == (n, 0)


@st.composite
def services(draw: st.DrawFn) -> dict[str, Any]:
    service = dict(GOOD_SERVICE, id=str(draw(st.integers(min_value=1, max_value=30))))
    for field in draw(st.lists(st.sampled_from(list(GOOD_SERVICE)), max_size=2, unique=True)):
        service[field] = draw(junk)
    return service


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(st.one_of(services(), junk), min_size=1, max_size=20))
def test_bad_services_are_quarantined_and_good_ones_load(engine: Engine, items: list[Any]) -> None:
    _empty(engine)
    load(SERVICES, Pages(items), engine, 235564, booking_form_url=None, service_link_template="")  # type: ignore[arg-type]
    _accounted(engine, "services", "service_id", items)


@st.composite
def staff(draw: st.DrawFn) -> dict[str, Any]:
    member = dict(GOOD_STAFF, id=str(draw(st.integers(min_value=1, max_value=30))))
    for field in draw(st.lists(st.sampled_from(list(GOOD_STAFF)), max_size=2, unique=True)):
        member[field] = draw(junk)
    return member


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(st.one_of(staff(), junk), min_size=1, max_size=20))
def test_bad_staff_are_quarantined_and_good_ones_load(engine: Engine, items: list[Any]) -> None:
    _empty(engine)
    load(STAFF, Pages(items), engine, 235564, booking_form_url=None, staff_link_template="")  # type: ignore[arg-type]
    _accounted(engine, "staff", "staff_id", items)


# NUL and lone surrogates (half an emoji): neither fits in Postgres text or jsonb as it is.
hostile_text = st.text(alphabet=st.sampled_from(["\x00", "\ud83d", "\udc00", "ё", "🌸", "a"]), max_size=6)
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),
        st.text(max_size=20),
        hostile_text,
    ),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


EVENT = st.fixed_dictionaries(
    {
        "company_id": st.one_of(junk, st.sampled_from([1, 235564, 2**63 - 1, 2**63, 0, -1])),
        "resource": st.one_of(
            st.sampled_from(["record", "service", "goods_operations_sale", "nope"]), hostile_text
        ),
        "resource_id": st.one_of(junk, st.sampled_from([1, 2**63 - 1, 2**63, 2**64, 0])),
        "status": st.sampled_from(["create", "update", "delete", "??"]),
        "data": json_values,
    }
)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@settings(max_examples=200, deadline=None)
@given(body=st.one_of(json_values, EVENT, st.lists(EVENT, max_size=5)))
def test_webhook_bodies_never_crash_the_parser(body: Any) -> None:
    parsed, reason = parse_body(body)
    assert (parsed is None) == (reason is not None)
    if parsed is None:
        return
    items = body if isinstance(body, list) else [body]
    # Every event of an accepted body is queued or refused on its own, never lost.
    assert len(parsed.accepted) + len(parsed.refused) == len(items)
    for event in parsed.accepted:
        assert 0 < event.company_id <= BIGINT_MAX and 0 < event.resource_id <= BIGINT_MAX
        for text_ in _strings(event.body):  # storable in Postgres: no NUL, no lone surrogate
            assert "\x00" not in text_
            text_.encode("utf-8")
    assert all(r.reason for r in parsed.refused)
