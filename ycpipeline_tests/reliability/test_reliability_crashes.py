"""SIGKILL at random points of loads and ledger derivations: nothing partial is ever visible, and a re-run
converges to the exact expected state with the ledger invariant holding."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, text

from ycpipeline.cli.demo_users import seed_demo_users
from ycpipeline.loyalty.ledger import derive_ledger, ledger_violations
from ycpipeline.sync.records import sync_records
from ycpipeline_sandbox import Sandbox, sandbox_client
from ycpipeline_tests.conftest import ANCHOR
from ycpipeline_tests.support.clients import client_options
from ycpipeline_tests.support.records import expected_records, stored_records

ROOT = Path(__file__).resolve().parents[2]
START, END = ANCHOR - timedelta(days=30), ANCHOR
RATE = Decimal("0.05")


def test_sigkill_during_loads_and_derivations(
    request: pytest.FixtureRequest, sandbox_url: str, warehouse_url: str, engine: Engine, sandbox: Sandbox
) -> None:
    rounds = 20 if request.config.getoption("--slow") else 5
    rng = random.Random(2026)
    seed_demo_users(engine, seed=7)
    completed = [
        r["id"]
        for d in range(31)
        for r in sandbox.state.day_records(235564, START + timedelta(days=d))
        if r["attendance"] == 1 and not r["deleted"]
    ]
    killed_mid_run = 0

    def stored_attendance(ids: list[int]) -> dict[int, int]:
        with engine.connect() as conn:
            return dict(
                conn.execute(
                    text("SELECT record_id, attendance FROM yclients.records WHERE record_id = ANY(:ids)"),
                    {"ids": ids},
                ).all()
            )

    for _ in range(rounds):
        changed = rng.sample(completed, 6)
        before = stored_attendance(changed)
        for record_id in changed:  # flip some visits, so both the load and the ledger have work
            current = sandbox.state.get_record(235564, record_id)["attendance"]
            sandbox.state.set_attendance(235564, record_id, -1 if current == 1 else 1)
        fresh = {rid: sandbox.state.get_record(235564, rid)["attendance"] for rid in changed}
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ycpipeline_tests.support.crash_worker",
                sandbox_url,
                warehouse_url,
                str(START),
                str(END),
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.3, 2.5))
        killed_mid_run += worker.poll() is None
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        # Atomic: the pending changes are all in the warehouse, or none of them is.
        after = stored_attendance(changed)
        pending = [rid for rid in changed if before.get(rid) != fresh[rid]]
        assert all(after.get(rid) == fresh[rid] for rid in pending) or all(
            after.get(rid) == before.get(rid) for rid in pending
        )
        # The ledger holds whole derivations only: deriving now repairs nothing twice.
        derive_ledger(engine, RATE)
        with engine.connect() as conn:
            assert ledger_violations(conn, RATE) == 0
    assert killed_mid_run == rounds
    # A clean re-run converges to the sandbox exactly.
    with sandbox_client(sandbox_url, options=client_options()) as client:
        sync_records(client, engine, 235564, ZoneInfo("Europe/Moscow"), START, END)
    derive_ledger(engine, RATE)
    assert stored_records(engine) == expected_records(sandbox, START, END)
    with engine.connect() as conn:
        assert ledger_violations(conn, RATE) == 0
