"""API faults (sandbox knobs): each run ends with the exact sandbox state, or fails clearly and leaves the
window as it was before. docs/reliability.md lists these cases with their outcome."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from ycpipeline.client import ApiResponseError, TokenRejectedError, TransientApiError, YClientsClient
from ycpipeline.sync.records import sync_records
from ycpipeline_sandbox import Fault, Sandbox, sandbox_client
from ycpipeline_tests.conftest import ANCHOR
from ycpipeline_tests.support.clients import client_options
from ycpipeline_tests.support.records import expected_records, stored_records

START, END = ANCHOR - timedelta(days=10), ANCHOR + timedelta(days=3)
R = "/records/"

CASES = {
    "429 burst with Retry-After": ([Fault("status", status=429, times=4, path=R, retry_after=0)], None),
    "429 without Retry-After": ([Fault("status", status=429, times=2, path=R)], None),
    "500": ([Fault("status", status=500, path=R, page=2)], None),
    "502": ([Fault("status", status=502, path=R, page=3)], None),
    "503": ([Fault("status", status=503, times=2, path=R)], None),
    "504": ([Fault("status", status=504, path=R, page=1)], None),
    "read timeout": ([Fault("timeout", delay=1.5, path=R, page=2)], None),
    "connection broken mid-body": ([Fault("truncate", path=R, page=2)], None),
    "non-JSON body": ([Fault("non_json", path=R, page=3)], None),
    "empty page mid-window": ([Fault("empty_page", path=R, page=2)], None),
    "record booked while paging": ([Fault("insert_during_paging", path=R, page=2)], None),
    "success: false with HTTP 200": ([Fault("success_false", path=R, page=2)], ApiResponseError),
    "token rotated mid-run (401)": ([Fault("status", status=401, path=R, page=3)], TokenRejectedError),
    "5xx that never ends": ([Fault("status", status=503, times=50, path=R)], TransientApiError),
}


@pytest.fixture
def quick_client(sandbox_url: str) -> Iterator[YClientsClient]:
    options = client_options(page_size=40, timeout=1.0, backoff_base=0.01, max_attempts=5, concurrency=3)
    with sandbox_client(sandbox_url, options=options) as client:
        yield client


@pytest.mark.parametrize("case", list(CASES))
def test_fault_ends_exact_or_fails_leaving_the_window_untouched(
    case: str, quick_client: YClientsClient, engine: Engine, sandbox: Sandbox
) -> None:
    faults, failure = CASES[case]
    msk = ZoneInfo("Europe/Moscow")
    sync_records(quick_client, engine, 235564, msk, START, END)
    for record in sandbox.state.day_records(235564, ANCHOR - timedelta(days=5))[:3]:
        sandbox.state.set_attendance(235564, record["id"], -1)  # something for the next run to carry
    before = stored_records(engine)
    sandbox.faults.add(*faults)
    if failure is None:
        sync_records(quick_client, engine, 235564, msk, START, END)
        assert stored_records(engine) == expected_records(sandbox, START, END)
    else:
        with pytest.raises(failure) as raised:
            sync_records(quick_client, engine, 235564, msk, START, END)
        assert "YClients" in str(raised.value)
        assert stored_records(engine) == before
    assert sandbox.faults.injected >= 1
