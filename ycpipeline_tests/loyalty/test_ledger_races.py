"""The ledger queue loses no change, whatever the interleaving of loads and derivations.

Loads and derivations run on separate real connections. The first test replays the reproduction of the
lost update step by step; the property test lets hypothesis pick the interleaving. A derivation must
never wait for an open load either (it runs with a lock timeout, so waiting fails the test).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import ROUND_FLOOR, Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, create_engine, text

from ycpipeline.loyalty.ledger import derive_ledger, ledger_violations
from ycpipeline_tests.support.ledger_rows import ledger_sum, put_record, put_user, queued

RATE = Decimal("0.05")
CODE = "AB12CD"


@pytest.fixture
def impatient(warehouse_url: str, engine: Engine) -> Iterator[Engine]:
    """The warehouse for derivations: a lock wait longer than 5 s is an error, not a hang."""
    eng = create_engine(warehouse_url, connect_args={"options": "-c lock_timeout=5000"})
    yield eng
    eng.dispose()


def test_a_change_committed_while_a_derivation_runs_is_derived_later(
    engine: Engine, impatient: Engine
) -> None:
    put_user(engine, 1, code=CODE)
    derive_ledger(impatient, RATE)  # the first, full derivation: later ones read only the queue
    put_record(engine, 10, "1000.00", comment=CODE)  # queued, not derived yet
    with engine.connect() as load:
        load.begin()
        put_record(load, 10, "2000.00", comment=CODE)  # the correction, not committed yet
        derivation = threading.Thread(target=derive_ledger, args=(impatient, RATE))
        derivation.start()
        derivation.join(timeout=1)  # it finishes (or, with a locking queue, waits for the load)
        load.commit()
    derivation.join(timeout=10)
    assert not derivation.is_alive()
    derive_ledger(impatient, RATE)
    assert ledger_sum(engine, 10) == Decimal("100.00")
    with engine.connect() as conn:
        assert ledger_violations(conn, RATE) == 0
    assert queued(engine) == set()


def test_a_derivation_does_not_wait_for_an_open_load(engine: Engine, impatient: Engine) -> None:
    put_user(engine, 1, code=CODE)
    put_record(engine, 10, "1000.00", comment=CODE)
    derive_ledger(impatient, RATE)
    put_record(engine, 10, "1500.00", comment=CODE)
    with engine.connect() as load:
        load.begin()
        put_record(load, 10, "2000.00", comment=CODE)
        result = derive_ledger(impatient, RATE)  # lock_timeout turns any wait into an error
        assert result.adjustments == 1  # it derived the committed 1500.00
        load.rollback()
    assert ledger_sum(engine, 10) == Decimal("75.00")


RECORDS = (10, 11, 12)
EMPTIED = (
    "yclients.records",
    "loyalty.app_users",
    "loyalty.bonus_ledger",
    "loyalty.ledger_queue",
    "loyalty.ledger_state",
)
loads = st.sampled_from([0, 1])
write = st.tuples(
    st.just("write"),
    loads,
    st.sampled_from(RECORDS),
    st.sampled_from(["1000.00", "1500.00", "2000.00"]),
    st.sampled_from([1, 1, -1]),
    st.booleans(),
)
# Writes and derivations are what races; rollbacks are rarer.
steps = st.one_of(
    write,
    write,
    st.tuples(st.just("commit"), loads),
    st.tuples(st.just("derive")),
    st.tuples(st.just("derive")),
    st.tuples(st.just("rollback"), loads),
)


def _owed(cost: str, attendance: int, deleted: bool) -> Decimal:
    if attendance != 1 or deleted:
        return Decimal("0.00")
    return (Decimal(cost) * RATE).quantize(Decimal("0.01"), rounding=ROUND_FLOOR)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=st.lists(steps, min_size=1, max_size=12))
# The reproduction: a correction written while a derivation takes the queue, committed after it.
@example(plan=[("write", 0, 10, "2000.00", 1, False), ("derive",), ("commit", 0)])
def test_random_interleavings_of_loads_and_derivations_lose_nothing(
    engine: Engine, impatient: Engine, plan: list[tuple]
) -> None:
    with engine.begin() as conn:  # DELETE: for a handful of rows much cheaper than TRUNCATE
        for table in EMPTIED:
            conn.execute(text(f"DELETE FROM {table}"))
    put_user(engine, 1, code=CODE)
    derive_ledger(impatient, RATE)  # the full derivation first: the plan's derivations read the queue
    committed = {r: ("1000.00", 1, False) for r in RECORDS}
    for record_id, state in committed.items():
        put_record(engine, record_id, state[0], comment=CODE)  # queued, not derived yet
    conns: list[Connection] = [engine.connect(), engine.connect()]
    pending: list[dict[int, tuple[str, int, bool]]] = [{}, {}]
    try:
        for step in plan:
            if step[0] == "write":
                _, k, record_id, cost, attendance, deleted = step
                if record_id in pending[1 - k]:
                    continue  # the other load holds the row lock: a real load would wait here
                if not conns[k].in_transaction():
                    conns[k].begin()
                put_record(conns[k], record_id, cost, attendance=attendance, deleted=deleted, comment=CODE)
                pending[k][record_id] = (cost, attendance, deleted)
            elif step[0] in ("commit", "rollback"):
                k = step[1]
                if conns[k].in_transaction():
                    if step[0] == "commit":
                        conns[k].commit()
                        committed.update(pending[k])
                    else:
                        conns[k].rollback()
                pending[k] = {}
            else:
                derive_ledger(impatient, RATE)
        for k in (0, 1):
            if conns[k].in_transaction():
                conns[k].commit()
                committed.update(pending[k])
    finally:
        for conn in conns:
            conn.close()
    derive_ledger(impatient, RATE)
    for record_id, state in committed.items():
        assert ledger_sum(engine, record_id) == _owed(*state), (record_id, state)
    with engine.connect() as conn:
        assert ledger_violations(conn, RATE) == 0
