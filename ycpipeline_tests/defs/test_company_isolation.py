"""One company's bad data stays its own.

Contract: a value at the calendar's edge (a record's `datetime` of 0001-01-01T01:00:00+05:00 with no
readable `date`, a cash-ledger `date` of 9999-12-31T23:00:00-05:00, an amount of 1e999999999) puts its
row in `yclients.rejected_rows` with a reason naming the field, while the sound rows beside it and the
next company load; and any error no loader foresaw while processing one company's data fails only that
company's part (named, with the error, in the companies_ok check), never the next company, the
catalogue or the ledger. The sandbox serves the hostile values over loopback HTTP (`served_fields`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from sqlalchemy import Engine, text

from ycpipeline.cli.runs import run_job
from ycpipeline.client import YClientsClient
from ycpipeline.sync import records as records_sync
from ycpipeline.sync.changes import read_states
from ycpipeline.sync.streams import CASH_LEDGER
from ycpipeline_sandbox import Sandbox
from ycpipeline_tests.conftest import ANCHOR
from ycpipeline_tests.support.helpers import preload
from ycpipeline_tests.support.stream_loads import load

FIRST, SECOND = 235564, 235565  # change capture goes through the companies in this order
EDGE_OF_CALENDAR = "0001-01-01T01:00:00+05:00"


def _rejected(engine: Engine, entity: str) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT source_key, reasons FROM yclients.rejected_rows WHERE entity = :e"), {"e": entity}
        ).all()
    return {str(key): " | ".join(reasons) for key, reasons in rows}


def _attendance(engine: Engine, company_id: int, record_id: int) -> int | None:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT attendance FROM yclients.records WHERE company_id = :c AND record_id = :r"),
            {"c": company_id, "r": record_id},
        ).scalar_one_or_none()


def _sound_records(sandbox: Sandbox, company_id: int, count: int) -> list[int]:
    day = ANCHOR - timedelta(days=3)
    found = [r["id"] for r in sandbox.state.day_records(company_id, day) if not r["deleted"]]
    assert len(found) >= count
    return found[:count]


def _failed_checks(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    return {
        e.check_name: e.metadata["failed_companies"].value
        for e in result.get_asset_check_evaluations()
        if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR and "failed_companies" in e.metadata
    }


def test_an_edge_of_calendar_record_is_quarantined_and_change_capture_goes_on(
    dagster_env: Path, engine: Engine, sandbox: Sandbox, sandbox_url: str
) -> None:
    preload(sandbox_url, engine)
    with engine.connect() as conn:
        before = read_states(conn)
    hostile, sound = _sound_records(sandbox, FIRST, 2)
    (other,) = _sound_records(sandbox, SECOND, 1)
    for company_id, record_id in ((FIRST, hostile), (FIRST, sound), (SECOND, other)):
        sandbox.state.set_attendance(company_id, record_id, -1)
    huge = next(r for r in _sound_records(sandbox, SECOND, 3) if r != other)
    sandbox.state.set_attendance(SECOND, huge, -1)
    sandbox.reconfigure(
        served_fields={
            "records": {
                hostile: {"date": None, "datetime": EDGE_OF_CALENDAR},
                huge: {"services": [{"id": 1, "title": "x", "cost": "1e999999999", "amount": 1}]},
            }
        }
    )

    result = run_job("changes_job")

    assert result.success and _failed_checks(result) == {}
    assert _attendance(engine, FIRST, sound) == -1  # the sound record beside it
    assert _attendance(engine, SECOND, other) == -1  # the next company
    assert _attendance(engine, FIRST, hostile) != -1  # the stored version stays
    rejected = _rejected(engine, "records")
    assert set(rejected) == {str(hostile), str(huge)}, rejected
    assert EDGE_OF_CALENDAR in rejected[str(hostile)] and "datetime" in rejected[str(hostile)]
    assert "cost" in rejected[str(huge)] and "numeric(12,2)" in rejected[str(huge)]
    with engine.connect() as conn:
        after = read_states(conn)
    assert all(after[c].watermark > before[c].watermark for c in (FIRST, SECOND))


def test_an_edge_of_calendar_cash_transaction_is_quarantined(
    sandbox: Sandbox, client: YClientsClient, engine: Engine
) -> None:
    day = ANCHOR - timedelta(days=1)
    payments = [t for r in sandbox.state.day_records(FIRST, day) for t in r["finance_transactions"]]
    assert len(payments) >= 2
    hostile = payments[0]["id"]
    sandbox.reconfigure(served_fields={"transactions": {hostile: {"date": "9999-12-31T23:00:00-05:00"}}})
    now = datetime.combine(ANCHOR, datetime.min.time(), UTC) + timedelta(hours=12)

    ledger = load(
        CASH_LEDGER, client, engine, FIRST, now=now, cash_ledger_overlap_days=3, cash_ledger_wide_days=10
    )

    assert ledger.rejected == 1 and ledger.fetched > 1
    reasons = _rejected(engine, "finance_transactions")
    assert set(reasons) == {str(hostile)} and "date" in reasons[str(hostile)], reasons
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM yclients.finance_transactions")).scalar_one()
    assert stored == ledger.fetched - 1


def test_any_error_of_one_company_fails_its_part_alone(
    dagster_env: Path,
    engine: Engine,
    sandbox: Sandbox,
    sandbox_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    preload(sandbox_url, engine)
    with engine.connect() as conn:
        before = read_states(conn)
    (broken,) = _sound_records(sandbox, FIRST, 1)
    (other,) = _sound_records(sandbox, SECOND, 1)
    sandbox.state.set_attendance(FIRST, broken, -1)
    sandbox.state.set_attendance(SECOND, other, -1)
    normalise: Callable[..., Any] = records_sync.record_row

    def unforeseen(raw: Any, company_id: int, *args: Any) -> Any:
        # Stands for any bug that only this company's data triggers.
        if company_id == FIRST:
            raise ZeroDivisionError("a case no loader foresaw")
        return normalise(raw, company_id, *args)

    monkeypatch.setattr(records_sync, "record_row", unforeseen)

    result = run_job("changes_job", raise_on_error=False)

    assert not result.success  # the run fails, naming the company, and only its partition failed
    failed = _failed_checks(result)
    assert set(failed) == {"records_companies_ok"}, failed
    assert set(failed["records_companies_ok"]) == {str(FIRST)}
    assert "ZeroDivisionError: a case no loader foresaw" in failed["records_companies_ok"][str(FIRST)]
    assert _attendance(engine, SECOND, other) == -1
    assert _attendance(engine, FIRST, broken) != -1
    materialized = {
        (e.asset_key.to_user_string(), e.partition) for e in result.get_asset_materialization_events()
    }
    assert ("yclients_records", str(SECOND)) in materialized
    assert ("yclients_records", str(FIRST)) not in materialized
    # The ledger, skipped in that run, follows in ledger_job (the daemon's sensor, the CLI's tick).
    derived = run_job("ledger_job")
    assert "bonus_ledger" in {
        e.asset_key.to_user_string() for e in derived.get_asset_materialization_events()
    }
    with engine.connect() as conn:
        states = read_states(conn)
    assert states[FIRST].watermark == before[FIRST].watermark  # the failed company's never moved
    assert states[SECOND].watermark > before[SECOND].watermark
