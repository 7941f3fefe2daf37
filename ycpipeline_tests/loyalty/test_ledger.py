"""Bonus ledger rules, exactly-once derivation and matching, on a real Postgres."""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from ycpipeline.loyalty.ledger import ambiguous_matches, derive_ledger, ledger_violations
from ycpipeline_tests.support.ledger_rows import put_record, put_user

RATE = Decimal("0.05")


def _entries(engine: Engine, record_id: int) -> list[tuple[str, Decimal, int]]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text(
                    "SELECT kind, amount, user_id FROM loyalty.bonus_ledger WHERE record_id = :r ORDER BY entry_id"
                ),
                {"r": record_id},
            )
        ]


@pytest.mark.parametrize(
    ("base", "rate", "owed"),
    [
        ("1999.99", "0.05", "99.99"),  # floor, not round-half
        ("1000.00", "0.05", "50.00"),
        ("0.19", "0.05", "0.00"),
        ("2250.00", "0.07", "157.50"),
        ("333.33", "0.10", "33.33"),
    ],
)
def test_amount_is_base_times_rate_floored_to_kopecks(
    engine: Engine, base: str, rate: str, owed: str
) -> None:
    put_user(engine, 1, code="AB12CD")
    put_record(engine, 10, base, comment="код ab12cd")
    derive_ledger(engine, Decimal(rate))
    expected = [("accrual", Decimal(owed), 1)] if Decimal(owed) else []
    assert _entries(engine, 10) == expected


def test_attendance_flip_reverses_then_reaccrues(engine: Engine) -> None:
    put_user(engine, 1, phone="+79161234567")
    put_record(engine, 10, "1000.00", phone="+79161234567")
    derive_ledger(engine, RATE)
    put_record(engine, 10, "1000.00", attendance=-1, phone="+79161234567")
    derive_ledger(engine, RATE)
    put_record(engine, 10, "1000.00", attendance=1, phone="+79161234567")
    derive_ledger(engine, RATE)
    assert _entries(engine, 10) == [
        ("accrual", Decimal("50.00"), 1),
        ("reversal", Decimal("-50.00"), 1),
        ("accrual", Decimal("50.00"), 1),
    ]


def test_deleted_record_is_reversed_and_cost_change_adjusts(engine: Engine) -> None:
    put_user(engine, 1, code="ZX9")
    put_record(engine, 10, "1000.00", comment="ZX9")
    put_record(engine, 11, "1000.00", comment="ZX9")
    derive_ledger(engine, RATE)
    put_record(engine, 10, "1000.00", deleted=True, comment="ZX9")
    put_record(engine, 11, "1500.00", comment="ZX9")
    derive_ledger(engine, RATE)
    assert _entries(engine, 10)[-1] == ("reversal", Decimal("-50.00"), 1)
    assert _entries(engine, 11)[-1] == ("adjustment", Decimal("25.00"), 1)


def test_rate_stays_with_the_record(engine: Engine) -> None:
    put_user(engine, 1, code="ZX9")
    put_record(engine, 10, "1000.00", comment="ZX9")
    derive_ledger(engine, RATE)
    put_record(engine, 10, "2000.00", comment="ZX9")
    derive_ledger(engine, Decimal("0.10"))  # BONUS_RATE changed since: the record keeps 5 %
    assert sum(e[1] for e in _entries(engine, 10)) == Decimal("100.00")


def test_running_twice_appends_nothing(engine: Engine) -> None:
    put_user(engine, 1, code="AB12CD")
    for i in range(20):
        put_record(engine, 100 + i, f"{1000 + i}.50", comment="AB12CD")
    first = derive_ledger(engine, RATE)
    second = derive_ledger(engine, RATE)
    assert first.accruals == 20 and second.entries == 0


def test_concurrent_derivations_append_exactly_once(engine: Engine) -> None:
    put_user(engine, 1, code="AB12CD")
    for i in range(200):
        put_record(engine, 100 + i, "999.99", comment="AB12CD")
    barrier = threading.Barrier(4)
    results = []

    def derive() -> None:
        barrier.wait()
        results.append(derive_ledger(engine, RATE))

    threads = [threading.Thread(target=derive) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.accruals for r in results) == [0, 0, 0, 200]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM loyalty.bonus_ledger")).scalar_one() == 200
        assert ledger_violations(conn, RATE) == 0


def test_late_registration_accrues_past_visits(engine: Engine) -> None:
    put_record(engine, 10, "1000.00", phone="+79161234567")
    assert derive_ledger(engine, RATE).entries == 0
    put_user(engine, 5, phone="+79161234567")
    assert derive_ledger(engine, RATE).accruals == 1
    assert _entries(engine, 10) == [("accrual", Decimal("50.00"), 5)]


def test_ambiguous_phone_accrues_nothing_and_is_reported(engine: Engine) -> None:
    put_user(engine, 1, phone="+79161234567")
    put_user(engine, 2, phone="+79161234567")
    put_record(engine, 10, "1000.00", phone="+79161234567")
    assert derive_ledger(engine, RATE).entries == 0
    with engine.connect() as conn:
        assert ambiguous_matches(conn) == 1


@pytest.mark.parametrize(
    ("comment", "matches"),
    [
        ("код AB12CD, спасибо", True),
        ("ab12cd", True),
        ("(AB12CD)", True),
        ("«AB12CD»", True),
        ("XAB12CD", False),
        ("AB12CDE", False),
        ("кодAB12CD", False),
        ("AB12CD🌸", True),  # an emoji is not a letter: the word ends before it
    ],
)
def test_code_matches_as_a_whole_word_only(engine: Engine, comment: str, matches: bool) -> None:
    put_user(engine, 1, code="AB12CD")
    put_record(engine, 10, "100.00", comment=comment)
    derive_ledger(engine, RATE)
    assert bool(_entries(engine, 10)) is matches


def test_code_wins_over_phone_and_balances_equal_the_entries(engine: Engine) -> None:
    put_user(engine, 1, code="AB12CD")
    put_user(engine, 2, phone="+79161234567")
    put_record(engine, 10, "1000.00", phone="+79161234567", comment="AB12CD")
    put_record(engine, 11, "500.00", phone="+79161234567")
    derive_ledger(engine, RATE)
    with engine.connect() as conn:
        balances = dict(conn.execute(text("SELECT user_id, balance FROM loyalty.bonus_balances")).all())
        sums = dict(
            conn.execute(text("SELECT user_id, sum(amount) FROM loyalty.bonus_ledger GROUP BY 1")).all()
        )
    assert balances == sums == {1: Decimal("50.00"), 2: Decimal("25.00")}


def test_owner_change_moves_the_bonus(engine: Engine) -> None:
    put_user(engine, 1, phone="+79161234567")
    put_user(engine, 2, code="QQ77")
    put_record(engine, 10, "1000.00", phone="+79161234567")
    derive_ledger(engine, RATE)
    put_record(engine, 10, "1000.00", phone="+79161234567", comment="QQ77")
    derive_ledger(engine, RATE)
    assert _entries(engine, 10) == [
        ("accrual", Decimal("50.00"), 1),
        ("reversal", Decimal("-50.00"), 1),
        ("accrual", Decimal("50.00"), 2),
    ]


def test_derivation_looks_only_at_changed_records_unless_users_changed(engine: Engine) -> None:
    put_user(engine, 1, code="AB12CD")
    for i in range(50):
        put_record(engine, 100 + i, "1000.00", comment="AB12CD")
    assert derive_ledger(engine, RATE).full  # the first derivation reads everything
    put_record(engine, 100, "1000.00", attendance=-1, comment="AB12CD")
    put_record(engine, 101, "2000.00", comment="AB12CD")
    incremental = derive_ledger(engine, RATE)
    assert not incremental.full and incremental.records_considered == 2
    assert (incremental.reversals, incremental.adjustments) == (1, 1)
    put_user(engine, 2, phone="+79160000000")
    assert derive_ledger(engine, RATE).full  # a new user may own past visits


def test_a_failed_derivation_leaves_the_queue_for_the_next(engine: Engine) -> None:
    put_user(engine, 1, code="AB12CD")
    derive_ledger(engine, RATE)
    put_record(engine, 10, "1000.00", comment="AB12CD")
    with pytest.raises(DBAPIError, match="overflow"):
        derive_ledger(engine, Decimal("100"))  # a rate the ledger cannot store: the derivation fails
    assert derive_ledger(engine, RATE).accruals == 1


@pytest.mark.parametrize("stored", ["8 (916) 000-00-01", "+7 916 000 00 01", "9160000001", "79160000001"])
def test_an_app_user_phone_matches_in_any_notation(engine: Engine, stored: str) -> None:
    put_user(engine, 1, phone=stored)
    put_record(engine, 10, "1000.00", phone="+79160000001")
    derive_ledger(engine, RATE)
    assert _entries(engine, 10) == [("accrual", Decimal("50.00"), 1)]


def test_two_users_with_one_number_in_two_notations_are_ambiguous(engine: Engine) -> None:
    put_user(engine, 1, phone="8 (916) 000-00-01")
    put_user(engine, 2, phone="+79160000001")
    put_record(engine, 10, "1000.00", phone="+79160000001")
    assert derive_ledger(engine, RATE).entries == 0
    with engine.connect() as conn:
        assert ambiguous_matches(conn) == 1


def test_the_app_users_are_read_never_written(engine: Engine) -> None:
    put_user(engine, 1, phone="8 (916) 000-00-01")
    put_user(engine, 2, code="AB12CD", phone="not a phone")
    with engine.connect() as conn:
        before = conn.execute(text("SELECT *, xmin::text FROM loyalty.app_users ORDER BY user_id")).all()
    put_record(engine, 10, "1000.00", phone="+79160000001")
    derive_ledger(engine, RATE)
    with engine.connect() as conn:
        after = conn.execute(text("SELECT *, xmin::text FROM loyalty.app_users ORDER BY user_id")).all()
    assert after == before  # same values, same row versions


def test_a_phone_change_is_followed_and_unusable_phones_are_reported(engine: Engine) -> None:
    from ycpipeline.loyalty.app_users import unusable_phones

    put_user(engine, 1, phone="8 (916) 000-00-01")
    put_user(engine, 2, phone="позвонить Маше")
    put_user(engine, 3, phone="   ")  # blank is "no phone", not an unusable one
    put_record(engine, 10, "1000.00", phone="+79160000002")
    derive_ledger(engine, RATE)
    assert _entries(engine, 10) == []
    with engine.begin() as conn:  # the app corrects user 1's phone
        conn.execute(text("UPDATE loyalty.app_users SET phone = '8-916-000-00-02' WHERE user_id = 1"))
    derive_ledger(engine, RATE)
    assert _entries(engine, 10) == [("accrual", Decimal("50.00"), 1)]
    with engine.connect() as conn:
        assert unusable_phones(conn) == (1, [2])


def test_the_ledger_job_reports_unusable_phones(dagster_env: Path, engine: Engine) -> None:
    from ycpipeline.cli.runs import run_job

    put_user(engine, 1, phone="8 (916) 000-00-01")
    put_user(engine, 2, phone="позвонить Маше")
    result = run_job("ledger_job")
    check = next(
        e for e in result.get_asset_check_evaluations() if e.check_name == "app_user_phones_readable"
    )
    assert not check.passed and check.metadata["unusable_phones"].value == 1
    assert check.metadata["user_ids"].value == "[2]"
