"""Spends per second on one balance: the wallet's locks serialise a user's spends, so this is the ceiling of
one user's checkout rate, and the overdraft count must stay 0 however many connections compete.

python bench/wallet.py [--warehouse-url URL] [--spends 2000] [--threads 8] [--history 1000]

Prints: one connection spending in turn; `--threads` connections spending at once on the same balance
(the lock hands them the balance one by one); the same with `--history` earlier lots and spends of the
user (each spend reads the user's lots); then the overdrafts found (balance or available below zero).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import show, warehouse
from ycpipeline.loyalty import wallet

USER = 1
POINT = Decimal("1.00")


def _fresh_user(engine: Engine, points: int, lots: int) -> None:
    """User 1 alone in the ledger, with `points` points in `lots` lots over three companies."""
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE loyalty.bonus_ledger, loyalty.bonus_policy, marts.pending"))
        conn.execute(
            text("""
                INSERT INTO loyalty.bonus_ledger (company_id, record_id, user_id, kind, amount, base_amount, rate,
                                                  created_at)
                SELECT 1 + n % 3, n, :u, 'accrual', :each, :each * 20, 0.05, now() - (:lots - n) * interval '1 hour'
                FROM generate_series(1, :lots) AS n"""),
            {"u": USER, "each": Decimal(points) / lots, "lots": lots},
        )


def _spend_in_turn(engine: Engine, spends: int, prefix: str) -> float:
    start = time.perf_counter()
    with engine.connect() as conn:
        for n in range(spends):
            with conn.begin():
                wallet.spend(conn, USER, POINT, f"{prefix}-{n}")
    return spends / (time.perf_counter() - start)


def _spend_at_once(url: str, spends: int, threads: int, prefix: str) -> tuple[float, int, int]:
    """Spends per second with `threads` connections, how many were granted and how many refused."""
    unpooled = create_engine(url, poolclass=NullPool, hide_parameters=True)
    outcomes = {"granted": 0, "refused": 0}
    lock = threading.Lock()
    ready = threading.Barrier(threads + 1)

    def work(k: int) -> None:
        with unpooled.connect() as conn:
            ready.wait()
            for n in range(k, spends, threads):
                try:
                    with conn.begin():
                        wallet.spend(conn, USER, POINT, f"{prefix}-{n}")
                    outcome = "granted"
                except wallet.WalletError:
                    outcome = "refused"
                with lock:
                    outcomes[outcome] += 1

    workers = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for worker in workers:
        worker.start()
    ready.wait()
    start = time.perf_counter()
    for worker in workers:
        worker.join()
    rate = spends / (time.perf_counter() - start)
    unpooled.dispose()
    return rate, outcomes["granted"], outcomes["refused"]


def _overdrafts(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT count(*) FROM loyalty.bonus_balances WHERE balance < 0 OR available < 0")
        ).scalar_one()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--warehouse-url", help="a Postgres to measure in (default: var/bench-postgres)")
    parser.add_argument("--spends", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--history", type=int, default=1000, help="earlier lots and spends of the user")
    args = parser.parse_args()
    engine = warehouse(args.warehouse_url)
    url = engine.url.render_as_string(hide_password=False)

    _fresh_user(engine, points=args.spends * 2, lots=10)
    one = _spend_in_turn(engine, args.spends, "one")
    _fresh_user(engine, points=args.spends, lots=10)
    # A tenth more requests than there are points: the last ones must be refused, none may overdraw.
    many, granted, refused = _spend_at_once(url, args.spends + args.spends // 10, args.threads, "many")
    overdrafts = _overdrafts(engine)
    with engine.connect() as conn:
        left = conn.execute(
            text("SELECT balance FROM loyalty.bonus_balances WHERE user_id = :u"), {"u": USER}
        )
        balance_left = left.scalar_one()

    _fresh_user(engine, points=args.spends * 2 + args.history, lots=args.history)
    _spend_in_turn(engine, args.history, "before")  # the user's earlier spends
    long_history = _spend_in_turn(engine, args.spends, "after")
    overdrafts += _overdrafts(engine)
    show(
        "wallet: spends on one balance",
        [
            ("one connection, spends/s", one),
            (f"{args.threads} connections at once, spends/s", many),
            ("  granted / refused (insufficient)", f"{granted:,} / {refused:,}"),
            ("  balance left", str(balance_left)),
            (f"after {args.history:,} lots and spends, spends/s", long_history),
            ("overdrafts (balance or available < 0)", overdrafts),
        ],
    )
    engine.dispose()


if __name__ == "__main__":
    main()
