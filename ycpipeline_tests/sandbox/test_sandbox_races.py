"""Readers over HTTP and changes from other threads at once: every answer stays well-formed."""

from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, time, timedelta

import httpx

from ycpipeline_sandbox import Sandbox
from ycpipeline_tests.conftest import ANCHOR

COMPANY = 235564


def test_reads_while_everything_changes(sandbox_http: httpx.Client, sandbox: Sandbox) -> None:
    state = sandbox.state
    stop = threading.Event()
    zone = state.timezone(COMPANY)
    records = state.day_records(COMPANY, ANCHOR - timedelta(days=2))
    staff = [m["id"] for m in state.staff(COMPANY)]

    def change() -> int:
        n = 0
        while not stop.is_set() and n < 400:
            day = ANCHOR - timedelta(days=n % 30)
            state.add_record(COMPANY, datetime.combine(day, time(8 + n % 12), zone))
            state.set_attendance(COMPANY, records[n % len(records)]["id"], (n % 4) - 1)
            state.update_staff(COMPANY, staff[n % len(staff)], weight=n, information=f"<p>{n}</p>")
            state.update_client(COMPANY, 88_000 + n % 50, name=f"Клиент {n}")
            state.set_hooks_settings(COMPANY, {"urls": [], "active": 0, "record": n % 2})
            n += 1
        return n

    def read(path: str) -> int:
        statuses = set()
        for _ in range(25):
            statuses.add(sandbox_http.get(path).status_code)
        return max(statuses)

    paths = [
        f"/records/{COMPANY}?changed_after=2026-11-01T00:00:00&with_deleted=1",
        f"/records/{COMPANY}?start_date=2026-10-20&end_date=2026-11-20&count=100",
        f"/company/{COMPANY}/staff",
        f"/hooks_settings/{COMPANY}",
        f"/client/{COMPANY}/88010",
    ]
    with ThreadPoolExecutor(max_workers=len(paths) + 1) as pool:
        writer = pool.submit(change)
        worst = [f.result() for f in [pool.submit(read, p) for p in paths]]
        stop.set()
        assert writer.result() > 0
    assert worst == [200] * len(paths)


def test_reads_of_the_state_while_records_land_on_new_days(sandbox: Sandbox) -> None:
    state = sandbox.state
    zone = state.timezone(COMPANY)
    errors: list[str] = []
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: a race shows within seconds

    def write() -> None:
        for n in range(1500):
            state.add_record(COMPANY, datetime.combine(ANCHOR + timedelta(days=400 + n), time(10), zone))
            state.update_staff(COMPANY, state.staff(COMPANY)[n % 10]["id"], weight=n)

    def read() -> None:
        for _ in range(1500):
            try:
                state.history(COMPANY)
                state.staff(COMPANY)
                state.hooks_settings(COMPANY)
            except RuntimeError as exc:  # e.g. "dictionary changed size during iteration"
                errors.append(repr(exc))

    try:
        threads = [threading.Thread(target=write), threading.Thread(target=read)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switch)
    assert errors == []
    assert state.history(COMPANY)[1] == ANCHOR + timedelta(days=400 + 1499)
