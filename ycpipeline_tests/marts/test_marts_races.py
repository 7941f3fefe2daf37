"""The marts' queue under concurrency, on a real Postgres with real connections and processes.

Contract: a load committing while a mart refresh runs loses no key of `marts.pending` (its entry stays
queued, or its change is already in the rebuilt rows); two refreshes at once take turns and leave the
mart as a full rebuild would; a refresh killed mid-way (SIGKILL) leaves its keys queued and the mart as
it was. Small warehouses built in SQL: each test takes about a second.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text

from ycpipeline.marts import checks
from ycpipeline.marts.refresh import refresh_all, refresh_mart
from ycpipeline.settings import defaults

POLICY = defaults().mart_policy()
COMPANY = 7
DAY = date(2026, 3, 1)
DAYS = 4


def _fill(engine: Engine) -> None:
    """Ten records a day over DAYS days, each with a service line; then every mart built."""
    with engine.begin() as conn:
        conn.execute(
            text("""
            INSERT INTO yclients.records (company_id, record_id, visit_date, starts_at, duration_seconds,
                staff_id, client_id, comment, attendance, deleted, total_cost, synced_at, raw, online)
            SELECT :c, r, :day + (r % :days), now(), 3600, 1 + r % 2, 100 + r % 5, '', 1, false,
                   1000 + r, now(), '{}', false
            FROM generate_series(1, 10 * :days) AS r"""),
            {"c": COMPANY, "day": DAY, "days": DAYS},
        )
        conn.execute(
            text("""INSERT INTO yclients.record_services (company_id, record_id, service_id, cost, amount)
                    SELECT company_id, record_id, 1, total_cost, 1 FROM yclients.records""")
        )
    refresh_all(engine, POLICY)


def _mart(engine: Engine, name: str = "branch_daily") -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT * FROM marts.{name} ORDER BY 1, 2, 3")).mappings().all()
    return [tuple(v for k, v in row.items() if k != "refreshed_at") for row in rows]


def _queued(engine: Engine, mart: str = "branch_daily") -> set[date]:
    with engine.connect() as conn:
        return set(conn.execute(text("SELECT day FROM marts.pending WHERE mart = :m"), {"m": mart}).scalars())


def _change(conn: Any, day: date) -> None:
    """A load's change: one record of `day` becomes a no-show (the trigger queues `day`)."""
    conn.execute(
        text("""UPDATE yclients.records SET attendance = -1
                WHERE record_id = (SELECT min(record_id) FROM yclients.records
                                   WHERE visit_date = :d AND attendance = 1)"""),
        {"d": day},
    )


def _in_thread(target: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    box: list[Any] = []
    thread = threading.Thread(target=lambda: box.append(target()), daemon=True)
    thread.start()
    return thread, box


WAITING_AT_DELETE = "a.wait_event_type = 'Lock' AND a.query LIKE 'DELETE FROM marts.branch_daily%'"


def _wait_for(engine: Engine, condition: str, timeout: float = 30) -> int:
    """Until `condition` (SQL over pg_stat_activity, alias a) holds for another backend; its pid."""
    deadline = time.monotonic() + timeout
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            found = conn.execute(
                text(
                    f"SELECT min(pid) FROM pg_stat_activity a WHERE a.pid <> pg_backend_pid() AND {condition}"
                )
            ).scalar_one()
            conn.commit()
            if found:
                return int(found)
            time.sleep(0.05)
    raise AssertionError(f"no backend with {condition}")


def _rebuilt_in_full(engine: Engine) -> list[tuple[Any, ...]]:
    refresh_mart(engine, "branch_daily", POLICY, full=True)
    return _mart(engine)


def test_a_load_uncommitted_during_a_refresh_keeps_its_key_queued(engine: Engine) -> None:
    _fill(engine)
    load = engine.connect()
    try:
        load.begin()
        _change(load, DAY)  # the load's queue entry exists, uncommitted
        thread, result = _in_thread(lambda: refresh_mart(engine, "branch_daily", POLICY))
        thread.join(30)
        assert not thread.is_alive(), "the refresh waited for the load"
        assert result[0].keys == 0  # an uncommitted entry is not taken
        load.commit()
    finally:
        load.close()
    assert _queued(engine) == {DAY}
    with engine.connect() as conn:
        assert checks.branch_daily_mismatches(conn) == 0  # the stale date is known to be queued
    assert refresh_mart(engine, "branch_daily", POLICY).keys == 1
    assert _queued(engine) == set()
    incremental = _mart(engine)
    assert incremental == _rebuilt_in_full(engine)


def test_a_load_committing_between_taking_keys_and_inserting_loses_nothing(engine: Engine) -> None:
    _fill(engine)
    first, second, third = DAY, DAY + timedelta(days=1), DAY + timedelta(days=2)
    with engine.begin() as conn:
        _change(conn, first)
        _change(conn, second)
    # A reader holding the second date's mart row stops the refresh after it took its keys, at its DELETE.
    blocker = engine.connect()
    try:
        blocker.begin()
        blocker.execute(text("SELECT 1 FROM marts.branch_daily WHERE date = :d FOR UPDATE"), {"d": second})
        thread, result = _in_thread(lambda: refresh_mart(engine, "branch_daily", POLICY))
        _wait_for(engine, WAITING_AT_DELETE)
        # Meanwhile a load commits changes of a taken date and of a date not taken.
        with engine.begin() as conn:
            _change(conn, second)
            _change(conn, third)
        blocker.commit()
        thread.join(30)
        assert not thread.is_alive()
    finally:
        blocker.close()
    assert result[0].keys == 2
    assert _queued(engine) == {second, third}  # the load's entries outlive the refresh that overlapped it
    refresh_mart(engine, "branch_daily", POLICY)
    assert _queued(engine) == set()
    incremental = _mart(engine)
    assert incremental == _rebuilt_in_full(engine)
    with engine.connect() as conn:
        no_shows = dict(conn.execute(text("SELECT date, no_shows FROM marts.branch_daily ORDER BY 1")).all())
    assert no_shows == {first: 1, second: 2, third: 1, DAY + timedelta(days=3): 0}


def test_two_refreshes_at_once_take_turns(engine: Engine) -> None:
    _fill(engine)

    def at_once(refresh: Callable[[], Any]) -> list[Any]:
        start = threading.Barrier(2)

        def run() -> Any:
            start.wait()
            return refresh()

        runs = [_in_thread(run) for _ in range(2)]
        for thread, _ in runs:
            thread.join(60)
            assert not thread.is_alive()
        return [box[0] for _, box in runs]

    with engine.begin() as conn:
        for n in range(DAYS):
            _change(conn, DAY + timedelta(days=n))
    first, second = at_once(lambda: refresh_mart(engine, "branch_daily", POLICY))
    assert sorted([first.keys, second.keys]) == [0, DAYS]  # one took every date, the other none
    with engine.begin() as conn:
        for n in range(DAYS):
            _change(conn, DAY + timedelta(days=n))
    at_once(lambda: refresh_all(engine, POLICY))  # every mart, in two connections at once
    # Two full rebuilds at once: without their turns, the second's insert would collide with the first's.
    at_once(lambda: refresh_mart(engine, "branch_daily", POLICY, full=True))
    assert _queued(engine) == set()
    incremental = _mart(engine)
    assert incremental == _rebuilt_in_full(engine)
    with engine.connect() as conn:
        assert checks.client_lifecycle_mismatches(conn) == 0
        assert checks.staff_utilization_mismatches(conn) == 0


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL is POSIX")
def test_a_refresh_killed_midway_leaves_its_keys_queued(engine: Engine) -> None:
    _fill(engine)
    before = _mart(engine)
    with engine.begin() as conn:
        _change(conn, DAY)
    blocker = engine.connect()
    try:
        blocker.begin()
        blocker.execute(text("SELECT 1 FROM marts.branch_daily WHERE date = :d FOR UPDATE"), {"d": DAY})
        url = engine.url.render_as_string(hide_password=False)
        script = (
            "import sys; from sqlalchemy import create_engine; "
            "from ycpipeline.marts.refresh import refresh_mart; from ycpipeline.settings import defaults; "
            "refresh_mart(create_engine(sys.argv[1]), 'branch_daily', defaults().mart_policy())"
        )
        process = subprocess.Popen([sys.executable, "-c", script, url])
        try:
            backend = _wait_for(engine, WAITING_AT_DELETE)
            os.kill(process.pid, signal.SIGKILL)
            assert process.wait(30) == -signal.SIGKILL
        finally:
            if process.poll() is None:
                process.kill()
        blocker.commit()
    finally:
        blocker.close()
    # The orphaned backend finishes its statement, finds its client gone and rolls back.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            alive = conn.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = :p"), {"p": backend}
            ).scalar_one()
        if not alive:
            break
        time.sleep(0.05)
    assert not alive
    assert _queued(engine) == {DAY}
    assert _mart(engine) == before
    assert refresh_mart(engine, "branch_daily", POLICY).keys == 1
    assert _mart(engine) == _rebuilt_in_full(engine) != before
