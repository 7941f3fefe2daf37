"""Chains of any size: the sandbox generates N companies (three hand-written, the rest deterministic, in
mixed time zones), each with its own records, and holds a bounded number of generated records in memory
however long the history it serves."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ycpipeline.client import CompanyNotFoundError, RecordFilters
from ycpipeline.serving import serve_in_thread
from ycpipeline_sandbox import (
    GenerationParams,
    Sandbox,
    SandboxConfig,
    SandboxState,
    company_profile,
    sandbox_client,
)
from ycpipeline_sandbox.generator import COMPANY_PROFILES, decode_record_id
from ycpipeline_sandbox.state import records as state_records
from ycpipeline_tests.conftest import ANCHOR
from ycpipeline_tests.support.clients import client_options


def test_a_chain_of_thirty_companies_over_http() -> None:
    state = SandboxState(
        GenerationParams(seed=3, records_per_day=6, anchor=ANCHOR), companies=30, days_back=3, days_ahead=1
    )
    ids = state.company_ids
    assert ids == list(range(235564, 235594))
    assert COMPANY_PROFILES[0][0] == COMPANY_PROFILES[0].company_id == 235564  # older callers index the tuple
    assert company_profile(29) == company_profile(29) and company_profile(29).company_id == 235593
    zones = {company_profile(i).timezone for i in range(30)}
    assert len(zones) >= 10 and {"Europe/Kaliningrad", "Asia/Kamchatka"} <= zones
    box = Sandbox(state, SandboxConfig(rate_per_second=None, rate_per_minute=None))
    with (
        serve_in_thread(box) as base,
        sandbox_client(f"{base}/api/v1", options=client_options(page_size=50, backoff_base=0.01)) as client,
    ):
        for index, company_id in enumerate(ids):
            company = client.get_company(company_id)
            assert (company["id"], company["timezone_name"]) == (company_id, company_profile(index).timezone)
        last = ids[-1]
        day = ANCHOR - timedelta(days=1)
        records = [
            r
            for page in client.iter_record_pages(last, RecordFilters.visit_window(day, day))
            for r in page.items
        ]
        assert records and all(r["company_id"] == last for r in records)
        assert {decode_record_id(r["id"]) and decode_record_id(r["id"])[0] for r in records} == {29}
        assert client.get_record(last, records[0]["id"]) == records[0]
        assert client.get_record(ids[0], records[0]["id"]) is None  # another company's record: 404
        with pytest.raises(CompanyNotFoundError):
            client.get_company(ids[-1] + 1)


def test_memory_stays_flat_over_a_long_history(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(state_records, "CACHED_RECORDS", 400)
    state = SandboxState(
        GenerationParams(seed=5, records_per_day=40, anchor=ANCHOR), companies=2, days_back=60
    )
    served = 0
    for company_id in state.company_ids:
        for back in range(60):
            served += len(state.day_records(company_id, ANCHOR - timedelta(days=back)))
            assert state.cached_records <= 400 + 80  # the budget, plus the day that just arrived
    assert served > 10 * 400
    again = state.day_records(235564, ANCHOR - timedelta(days=59))  # long evicted: generated again, the same
    fresh = SandboxState(
        GenerationParams(seed=5, records_per_day=40, anchor=ANCHOR), companies=2, days_back=60
    )
    assert again == fresh.day_records(235564, ANCHOR - timedelta(days=59))
