"""Records refresh against the sandbox over HTTP into a real Postgres."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, text

from ycpipeline.client import TokenRejectedError, YClientsClient
from ycpipeline.normalize.values import to_money
from ycpipeline.sync.records import sync_records
from ycpipeline_sandbox import Fault, Sandbox
from ycpipeline_tests.conftest import ANCHOR
from ycpipeline_tests.support.clients import client_options
from ycpipeline_tests.support.records import expected_records, stored_records

MSK = ZoneInfo("Europe/Moscow")
START, END = ANCHOR - timedelta(days=14), ANCHOR + timedelta(days=7)


def _sync(client: YClientsClient, engine: Engine, start=START, end=END):  # type: ignore[no-untyped-def]
    return sync_records(client, engine, 235564, MSK, start, end, run_id="test", chunk_pages=2)


def test_full_refresh_equals_the_sandbox_and_rerun_changes_nothing(
    client: YClientsClient, engine: Engine, sandbox: Sandbox
) -> None:
    first = _sync(client, engine)
    expected = expected_records(sandbox, START, END)
    assert stored_records(engine) == expected
    assert first.counts.created == len(expected) and first.rejected == 0
    with engine.connect() as conn:
        lines = conn.execute(text("SELECT count(*) FROM yclients.record_services")).scalar_one()
        sums_agree = conn.execute(
            text("""
            SELECT bool_and(r.total_cost = coalesce(l.s, 0)) FROM yclients.records r
            LEFT JOIN (SELECT record_id, sum(cost) s FROM yclients.record_services GROUP BY 1) l USING (record_id)
        """)
        ).scalar_one()
    assert lines > 0 and sums_agree
    again = _sync(client, engine)
    assert (again.counts.created, again.counts.updated, again.deleted) == (0, 0, 0)
    assert again.counts.unchanged == len(expected)


def test_mutations_are_reflected_on_the_next_run(
    client: YClientsClient, engine: Engine, sandbox: Sandbox
) -> None:
    _sync(client, engine)
    day = sandbox.state.day_records(235564, ANCHOR - timedelta(days=2))
    a, b, c, d = (r["id"] for r in day[1:5])
    sandbox.state.set_attendance(235564, a, -1)
    sandbox.state.set_service_cost(235564, b, "1234.50")
    sandbox.state.delete_record(235564, c)
    sandbox.state.move_record(235564, d, datetime.combine(ANCHOR + timedelta(days=30), time(11), MSK))
    result = _sync(client, engine)
    assert result.counts.updated == 4 and result.moved_out == 1 and result.counts.created == 0
    stored = stored_records(engine)
    assert stored[a][1] == -1
    assert stored[b][3] == sum(
        (to_money(s["cost"]) for s in sandbox.state.get_record(235564, b)["services"]), Decimal("0.00")
    )
    assert stored[c][2] is True
    assert stored[d][0] == ANCHOR + timedelta(days=30)  # updated in place with its new date
    with engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT count(*) FROM yclients.records WHERE record_id = :d"), {"d": d}
            ).scalar()
            == 1
        )


def test_record_gone_from_the_api_is_marked_deleted(
    client: YClientsClient, engine: Engine, sandbox: Sandbox
) -> None:
    _sync(client, engine)
    with engine.begin() as conn:  # a record the API never heard of, on a date of the window
        conn.execute(
            text("""
            INSERT INTO yclients.records (company_id, record_id, visit_date, starts_at, duration_seconds, attendance,
                                          deleted, total_cost, synced_at, raw)
            VALUES (235564, 42, :d, now(), 3600, 1, false, 100, now(), '{}')"""),
            {"d": START},
        )
    result = _sync(client, engine)
    assert result.deleted == 1
    with engine.connect() as conn:
        assert conn.execute(text("SELECT deleted FROM yclients.records WHERE record_id = 42")).scalar_one()


def test_local_midnight_lands_on_its_local_date(
    client: YClientsClient, engine: Engine, sandbox: Sandbox
) -> None:
    day = ANCHOR - timedelta(days=1)
    late = sandbox.state.add_record(235564, datetime.combine(day, time(0, 30), MSK))
    _sync(client, engine, day, day)
    with engine.connect() as conn:
        visit_date, starts_at = conn.execute(
            text("SELECT visit_date, starts_at FROM yclients.records WHERE record_id = :r"), {"r": late["id"]}
        ).one()
    assert visit_date == day
    assert starts_at.astimezone(MSK).time() == time(0, 30)


def test_malformed_record_is_quarantined_and_the_rest_load(
    client: YClientsClient, engine: Engine, sandbox: Sandbox
) -> None:
    day = ANCHOR - timedelta(days=4)
    bad = sandbox.state.day_records(235564, day)[0]["id"]
    sandbox.state.patch_record(235564, bad, {"attendance": 7, "seance_length": -5})
    result = _sync(client, engine, day, day)
    assert result.rejected == 1
    assert result.counts.created == len(sandbox.state.day_records(235564, day)) - 1
    with engine.connect() as conn:
        key, reasons = conn.execute(text("SELECT source_key, reasons FROM yclients.rejected_rows")).one()
    assert key == str(bad)
    assert any("attendance" in r for r in reasons) and any("duration_seconds" in r for r in reasons)


def test_records_booked_while_paging_are_not_lost(
    client: YClientsClient, engine: Engine, sandbox: Sandbox
) -> None:
    sandbox.faults.add(Fault("insert_during_paging", path="/records/", page=2))
    result = _sync(client, engine)
    assert result.passes == 2
    assert stored_records(engine) == expected_records(sandbox, START, END)


def test_token_rejected_mid_window_leaves_the_window_as_it_was_then_repairs(
    client: YClientsClient, engine: Engine, sandbox: Sandbox
) -> None:
    early = (START, START + timedelta(days=6))
    _sync(client, engine, *early)
    before = stored_records(engine)
    sandbox.state.set_attendance(235564, sandbox.state.day_records(235564, START)[0]["id"], -1)
    sandbox.faults.add(Fault("status", status=401, path="/records/", page=3))
    with pytest.raises(TokenRejectedError, match="YCLIENTS_USER_TOKEN"):
        _sync(client, engine)
    assert stored_records(engine) == before  # nothing of the failed run is visible
    _sync(client, engine)  # the "backfill after a token change"
    assert stored_records(engine) == expected_records(sandbox, START, END)


def test_each_company_of_a_chain_uses_its_own_time_zone(
    client: YClientsClient, engine: Engine, sandbox: Sandbox
) -> None:
    from ycpipeline.normalize.values import company_zone

    company = client.get_company(235565)
    tz = company_zone(company.get("timezone_name"), company.get("timezone"))
    day = ANCHOR - timedelta(days=3)
    late = sandbox.state.add_record(235565, datetime.combine(day, time(0, 15), tz))
    sync_records(client, engine, 235565, tz, day, day)
    with engine.connect() as conn:
        stored = dict(
            conn.execute(
                text("SELECT record_id, visit_date FROM yclients.records WHERE company_id = 235565")
            ).all()
        )
    assert stored[late["id"]] == day  # 00:15 in Yekaterinburg is still the previous day in Moscow
    assert stored == {r["id"]: day for r in sandbox.state.day_records(235565, day)}


def test_a_record_listed_twice_loads_its_last_version(engine: Engine, sandbox: Sandbox) -> None:
    from ycpipeline.client.http import RecordsPage, RequestStats

    day = ANCHOR - timedelta(days=2)
    record = sandbox.state.day_records(235564, day)[0]
    edited = {**record, "attendance": -1 if record["attendance"] == 1 else 1}

    class Listing:
        page_size, stats = 1, RequestStats()

        def __init__(self, *versions: dict) -> None:
            self.versions = versions

        def iter_record_pages(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            for n, version in enumerate(self.versions, start=1):
                yield RecordsPage(n, [version], len(self.versions))

        def get_record(self, *args):  # type: ignore[no-untyped-def]
            return None

    sync_records(Listing(record), engine, 235564, MSK, day, day)  # type: ignore[arg-type]
    # Paging drift: the stored version first, then the newer one. The newer one must win.
    result = sync_records(Listing(record, edited), engine, 235564, MSK, day, day)  # type: ignore[arg-type]
    assert (result.counts.updated, result.counts.unchanged) == (1, 0)
    assert stored_records(engine)[record["id"]][1] == edited["attendance"]


def test_a_record_whose_zone_disagrees_stays_in_its_window_and_is_not_reread(engine: Engine) -> None:
    from ycpipeline.serving import serve_in_thread
    from ycpipeline_tests.support.hostile_api import HostileApi, record

    # The API's local date is the 16th; its datetime in the configured zone (Moscow) is the 15th.
    api = HostileApi(records=[record(1, date="2026-11-16 02:00:00", datetime="2026-11-16T02:00:00+09:00")])
    day = date(2026, 11, 16)
    with (
        serve_in_thread(api) as base,
        YClientsClient(f"{base}/api/v1", SecretStr("partner-0000"), options=client_options()) as client,
    ):
        for window in ((day, day), (day - timedelta(days=1), day - timedelta(days=1))) * 2:
            sync_records(client, engine, 235564, MSK, *window)
    assert api.rereads == 0
    assert stored_records(engine)[1][0] == day
