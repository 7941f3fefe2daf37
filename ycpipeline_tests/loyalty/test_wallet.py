"""Spending, holds, expiry and debt on a real Postgres, through the SQL functions the app calls."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from ycpipeline.loyalty import wallet
from ycpipeline.loyalty.expiry import expire_points
from ycpipeline.loyalty.ledger import derive_ledger, ledger_violations, users_in_debt
from ycpipeline.loyalty.wallet import WalletError
from ycpipeline.settings import defaults
from ycpipeline_tests.conftest import ANCHOR
from ycpipeline_tests.support.ledger_rows import USER, accrue, put_record, put_user

RATE = Decimal("0.05")


def on(day_offset: int) -> datetime:
    """Noon UTC of the day `day_offset` days after ANCHOR."""
    return datetime.combine(ANCHOR + timedelta(days=day_offset), time(12), tzinfo=UTC)


def balance(engine: Engine, user_id: int = USER) -> wallet.Balance:
    with engine.connect() as conn:
        return wallet.balance(conn, user_id)


def entries(engine: Engine, kind: str) -> list[tuple[int | None, int | None, Decimal]]:
    """(company, the record or the lot's record of an expiry, amount) of every entry of `kind`."""
    with engine.connect() as conn:
        return [
            (r[0], r[1], r[2])
            for r in conn.execute(
                text("""SELECT company_id, coalesce(record_id, lot_record_id), amount FROM loyalty.bonus_ledger
                        WHERE kind = :k ORDER BY entry_id"""),
                {"k": kind},
            )
        ]


def spend(engine: Engine, amount: str, external_id: str, user_id: int = USER) -> int:
    with engine.begin() as conn:
        return wallet.spend(conn, user_id, Decimal(amount), external_id)


def in_minutes(minutes: int) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)


def test_a_spend_takes_the_oldest_lots_first_one_entry_per_company(engine: Engine) -> None:
    accrue(engine, 1, "100.00", on(-30), company_id=1)
    accrue(engine, 2, "50.00", on(-20), company_id=2)
    accrue(engine, 3, "30.00", on(-10), company_id=1)
    first = spend(engine, "120.00", "order-1")
    assert entries(engine, "spend") == [(1, None, Decimal("-100.00")), (2, None, Decimal("-20.00"))]
    with engine.connect() as conn:
        assert (
            conn.execute(text("SELECT min(entry_id) FROM loyalty.bonus_ledger WHERE kind = 'spend'")).scalar()
            == first
        )
    b = balance(engine)
    assert (b.balance, b.available, b.spent) == (Decimal("60.00"), Decimal("60.00"), Decimal("120.00"))


def test_a_retry_with_the_same_external_id_spends_once(engine: Engine) -> None:
    accrue(engine, 1, "100.00")
    first = spend(engine, "40.00", "order-1")
    assert spend(engine, "40.00", "order-1") == first
    assert balance(engine).balance == Decimal("60.00")
    with pytest.raises(WalletError, match=r"already names a spend of 40\.00") as refused:
        spend(engine, "41.00", "order-1")
    assert refused.value.sqlstate == "LY002"
    assert balance(engine).balance == Decimal("60.00")


def test_more_than_available_is_insufficient_and_writes_nothing(engine: Engine) -> None:
    accrue(engine, 1, "100.00")
    with engine.begin() as conn:
        wallet.hold(conn, USER, Decimal("30.00"), "basket-1", in_minutes(30))
    with pytest.raises(WalletError, match="insufficient") as refused:
        spend(engine, "70.01", "order-1")
    assert refused.value.sqlstate == "LY001"
    with pytest.raises(WalletError, match="positive"):
        spend(engine, "0.001", "order-2")
    assert entries(engine, "spend") == []
    spend(engine, "70.00", "order-3")
    assert balance(engine).available == Decimal("0.00")


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "1e20"])
def test_an_amount_that_is_no_finite_sum_of_points_is_refused_as_invalid(engine: Engine, amount: str) -> None:
    """NaN and Infinity sort above every number: without an upper bound they passed as "positive"."""
    accrue(engine, 1, "100.00")
    for call in (
        lambda conn: wallet.spend(conn, USER, Decimal(amount), "order-odd"),
        lambda conn: wallet.hold(conn, USER, Decimal(amount), "basket-odd", in_minutes(30)),
    ):
        with pytest.raises(WalletError, match="positive") as refused, engine.begin() as conn:
            call(conn)
        assert refused.value.sqlstate == "22023"
    assert entries(engine, "spend") == entries(engine, "hold") == []


def test_a_hold_that_never_expires_is_refused(engine: Engine) -> None:
    """`infinity` is later than any moment: accepted, it reserved points for ever."""
    accrue(engine, 1, "100.00")
    with pytest.raises(DBAPIError, match="future"), engine.begin() as conn:
        conn.execute(text("SELECT loyalty.hold_points(:u, 10.00, 'basket-inf', 'infinity')"), {"u": USER})
    assert entries(engine, "hold") == []


def test_fifty_concurrent_spends_and_holds_never_overdraw(engine: Engine) -> None:
    accrue(engine, 1, "60.00", on(-3), company_id=1)
    accrue(engine, 2, "40.00", on(-2), company_id=2)
    start = threading.Barrier(50)
    granted: list[str] = []
    refused: list[str] = []
    lock = threading.Lock()

    unpooled = create_engine(engine.url, poolclass=NullPool)  # fifty connections at once

    def operate(n: int) -> None:
        conn = unpooled.connect()  # each thread its own connection
        try:
            start.wait()
            for _attempt in range(2):  # the second is a retry of the same request
                try:
                    with conn.begin():
                        if n % 2:
                            wallet.spend(conn, USER, Decimal("7.00"), f"spend-{n}")
                        else:
                            wallet.hold(conn, USER, Decimal("7.00"), f"hold-{n}", in_minutes(30))
                    outcome = granted
                except WalletError as error:
                    assert "insufficient" in str(error)
                    outcome = refused
                with lock:
                    outcome.append(f"{n}")
        finally:
            conn.close()

    threads = [threading.Thread(target=operate, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    unpooled.dispose()
    assert len(set(granted)) == 14  # 100 // 7: every point that could be given was given, none more
    assert len(granted) == 28 and len(refused) == 72  # each granted request granted again on its retry
    b = balance(engine)
    spends = sum(1 for n in set(granted) if int(n) % 2)
    assert b.spent == 7 * spends and b.held == 7 * (14 - spends)
    assert (b.balance, b.available) == (Decimal("100.00") - b.spent, Decimal("2.00"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT min(available) FROM loyalty.bonus_balances")).scalar_one() >= 0


def test_a_hold_is_captured_or_released_once(engine: Engine) -> None:
    accrue(engine, 1, "100.00")
    with engine.begin() as conn:
        hold_id = wallet.hold(conn, USER, Decimal("30.00"), "basket-1", in_minutes(30))
        assert wallet.hold(conn, USER, Decimal("30.00"), "basket-1", in_minutes(30)) == hold_id
        wallet.hold(conn, USER, Decimal("20.00"), "basket-2", in_minutes(30))
    b = balance(engine)
    assert (b.balance, b.available, b.held) == (Decimal("100.00"), Decimal("50.00"), Decimal("50.00"))
    with engine.begin() as conn:
        capture_id = wallet.capture(conn, "basket-1")
        assert wallet.capture(conn, "basket-1") == capture_id
        release_id = wallet.release(conn, "basket-2")
        assert wallet.release(conn, "basket-2") == release_id
    with engine.begin() as conn, pytest.raises(WalletError, match="captured") as refused:
        wallet.release(conn, "basket-1")
    assert refused.value.sqlstate == "LY004"
    with engine.begin() as conn, pytest.raises(WalletError, match="released"):
        wallet.capture(conn, "basket-2")
    with engine.begin() as conn, pytest.raises(WalletError, match="no hold") as refused:
        wallet.capture(conn, "basket-3")
    assert refused.value.sqlstate == "LY003"
    b = balance(engine)
    assert (b.balance, b.available, b.held, b.spent) == (
        Decimal("70.00"),
        Decimal("70.00"),
        Decimal("0.00"),
        Decimal("30.00"),
    )
    assert entries(engine, "capture") == [(1, None, Decimal("-30.00"))]


def _old_hold(engine: Engine, external_id: str, amount: str) -> None:
    """A hold taken an hour ago for thirty minutes, as hold_points wrote it then."""
    with engine.begin() as conn:
        conn.execute(
            text("""
                INSERT INTO loyalty.bonus_ledger (user_id, kind, amount, hold_amount, expires_at, external_id,
                                                  created_at)
                VALUES (:u, 'hold', 0, :a, now() - interval '30 minutes', :e, now() - interval '1 hour')"""),
            {"u": USER, "a": Decimal(amount), "e": external_id},
        )


def test_a_hold_past_its_time_releases_itself(engine: Engine) -> None:
    accrue(engine, 1, "100.00")
    _old_hold(engine, "basket-1", "80.00")
    _old_hold(engine, "basket-2", "10.00")
    b = balance(engine)
    assert (b.available, b.held) == (Decimal("100.00"), Decimal("0.00"))  # released as far as balances go
    with engine.begin() as conn, pytest.raises(WalletError, match="cannot be captured"):
        wallet.capture(conn, "basket-1")
    spend(engine, "90.00", "order-1")  # the points the holds reserved are spendable again
    # The user's next call wrote the releases as entries.
    assert [e[2] for e in entries(engine, "release")] == [Decimal("0.00"), Decimal("0.00")]
    with engine.connect() as conn:
        states = conn.execute(text("SELECT external_id, state FROM loyalty.bonus_holds ORDER BY 1")).all()
    assert states == [("basket-1", "released"), ("basket-2", "released")]


def test_the_nightly_expiry_writes_the_release_of_an_expired_hold(engine: Engine) -> None:
    accrue(engine, 1, "100.00")
    _old_hold(engine, "basket-1", "80.00")
    result = expire_points(engine, defaults(bonus_expiry_months=0).expiry_policy())
    assert (result.holds_released, result.lots_expired) == (1, 0)
    assert expire_points(engine, defaults(bonus_expiry_months=0).expiry_policy()).holds_released == 0


def test_expiry_after_partial_spending_takes_the_oldest_lots(engine: Engine) -> None:
    # Lots of 100 (13 months before ANCHOR), 50 (11 months) and 30 (1 month); 70 spent: of the oldest.
    accrue(engine, 1, "100.00", on(-396), company_id=1)
    accrue(engine, 2, "50.00", on(-335), company_id=2)
    accrue(engine, 3, "30.00", on(-30), company_id=1)
    spend(engine, "70.00", "order-1")
    assert entries(engine, "spend") == [(1, None, Decimal("-70.00"))]
    result = expire_points(engine, defaults(bonus_expiry_months=12).expiry_policy(), today=ANCHOR)
    assert (result.lots_expired, result.points_expired, result.users) == (1, Decimal("30.00"), 1)
    assert entries(engine, "expiry") == [(1, 1, Decimal("-30.00"))]  # what was left of record 1's lot
    assert (
        expire_points(engine, defaults(bonus_expiry_months=12).expiry_policy(), today=ANCHOR).lots_expired
        == 0
    )  # once
    b = balance(engine)
    assert (b.balance, b.spent, b.expired) == (Decimal("80.00"), Decimal("70.00"), Decimal("30.00"))
    # A month later record 2's lot expires whole: nothing of it was spent.
    expire_points(engine, defaults(bonus_expiry_months=12).expiry_policy(), today=ANCHOR + timedelta(days=62))
    assert entries(engine, "expiry")[1:] == [(2, 2, Decimal("-50.00"))]
    assert balance(engine).balance == Decimal("30.00")


def test_expiry_leaves_what_an_open_hold_reserves(engine: Engine) -> None:
    accrue(engine, 1, "100.00", on(-400))
    with engine.begin() as conn:
        wallet.hold(conn, USER, Decimal("60.00"), "basket-1", in_minutes(30))
    expire_points(engine, defaults(bonus_expiry_months=12).expiry_policy(), today=ANCHOR)
    assert entries(engine, "expiry") == [(1, 1, Decimal("-40.00"))]
    with engine.begin() as conn:
        wallet.capture(conn, "basket-1")
    assert balance(engine).balance == Decimal("0.00")


def test_expiring_points_lists_what_expires_within_the_notice(engine: Engine) -> None:
    now = datetime.now(UTC)
    accrue(engine, 1, "10.00", now - timedelta(days=365 - 5))  # expires in about 5 days
    accrue(engine, 2, "20.00", now - timedelta(days=365 - 40))  # in about 40
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO loyalty.bonus_policy (id, expiry_months, notice_days) VALUES (1, 12, 14)")
        )
        rows = conn.execute(text("SELECT user_id, amount FROM loyalty.expiring_points")).all()
    assert rows == [(USER, Decimal("10.00"))]


def test_a_visit_cancelled_after_its_points_were_spent_leaves_a_debt_the_next_accrual_repays(
    engine: Engine,
) -> None:
    put_user(engine, USER, code="AB12CD")
    put_record(engine, 10, "1000.00", comment="AB12CD")
    derive_ledger(engine, RATE)
    spend(engine, "50.00", "order-1")
    put_record(engine, 10, "1000.00", attendance=-1, comment="AB12CD")  # the visit is cancelled
    derive_ledger(engine, RATE)
    with engine.connect() as conn:
        assert ledger_violations(conn, RATE) == 0  # the record's entries still sum to what it is owed: 0
        assert users_in_debt(conn) == (1, [USER])
    b = balance(engine)
    assert (b.balance, b.available, b.spent, b.reversed) == (
        Decimal("-50.00"),
        Decimal("-50.00"),
        Decimal("50.00"),
        Decimal("50.00"),
    )
    with pytest.raises(WalletError, match="insufficient"):
        spend(engine, "0.01", "order-2")
    put_record(engine, 11, "2000.00", comment="AB12CD")  # the next visit accrues 100
    derive_ledger(engine, RATE)
    assert balance(engine).available == Decimal("50.00")
    with engine.connect() as conn:
        assert users_in_debt(conn) == (0, [])
    spend(engine, "50.00", "order-3")  # from the new visit's lot, of its company
    assert entries(engine, "spend")[-1] == (1, None, Decimal("-50.00"))


def test_calls_outside_read_committed_are_refused(engine: Engine) -> None:
    accrue(engine, 1, "100.00")
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin(), pytest.raises(WalletError, match="READ COMMITTED"):
            wallet.spend(conn, USER, Decimal("1.00"), "order-1")


def test_a_lot_is_earned_on_its_visit_date_however_late_it_was_accrued(engine: Engine) -> None:
    put_user(engine, USER, code="AB12CD")
    with engine.begin() as conn:
        for record_id, visit_date in ((20, ANCHOR - timedelta(days=400)), (21, ANCHOR - timedelta(days=10))):
            conn.execute(
                text("""
                    INSERT INTO yclients.records (company_id, record_id, visit_date, starts_at, duration_seconds,
                        comment, attendance, deleted, total_cost, synced_at, raw)
                    VALUES (1, :r, :d, now(), 3600, 'AB12CD', 1, false, 1000, now(), '{}')"""),
                {"r": record_id, "d": visit_date},
            )
    derive_ledger(engine, RATE)  # both accrue now: the first load of a long history
    expire_points(engine, defaults(bonus_expiry_months=12).expiry_policy(), today=ANCHOR)
    assert entries(engine, "expiry") == [(1, 20, Decimal("-50.00"))]
    assert balance(engine).balance == Decimal("50.00")
    # The records are owed what they were: a derivation appends nothing, the expiry stands.
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO loyalty.ledger_queue (company_id, record_id) VALUES (1, 20), (1, 21)"))
    assert derive_ledger(engine, RATE).entries == 0
    with engine.connect() as conn:
        assert ledger_violations(conn, RATE) == 0
    assert balance(engine).balance == Decimal("50.00")


def test_a_capture_after_the_visit_was_cancelled_is_insufficient_and_the_hold_can_be_released(
    engine: Engine,
) -> None:
    put_user(engine, USER, code="AB12CD")
    put_record(engine, 10, "1000.00", comment="AB12CD")
    derive_ledger(engine, RATE)
    with engine.begin() as conn:
        wallet.hold(conn, USER, Decimal("40.00"), "basket-1", in_minutes(30))
    put_record(engine, 10, "1000.00", deleted=True, comment="AB12CD")
    derive_ledger(engine, RATE)
    with engine.begin() as conn, pytest.raises(WalletError, match="insufficient") as refused:
        wallet.capture(conn, "basket-1")
    assert refused.value.sqlstate == "LY001"
    with engine.begin() as conn:
        wallet.release(conn, "basket-1")
    b = balance(engine)
    assert (b.balance, b.available, b.held, b.spent) == (Decimal("0.00"),) * 4
