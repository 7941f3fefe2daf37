"""`ycpipeline loyalty`: operators spend, hold, capture and release points and read balances through the
very SQL functions the app calls (docs/loyalty.md), and can run the nightly expiry now."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from ycpipeline.cli.errors import OneLineErrorsTyper, UserError
from ycpipeline.cli.warehouse import warehouse_engine

if TYPE_CHECKING:
    from sqlalchemy import Connection

# The database libraries are imported by the commands that use them: `ycpipeline --help` stays quick.

loyalty_app = OneLineErrorsTyper(
    help="The bonus wallet: spend, hold, capture, release, balance, expire.", no_args_is_help=True
)
console = Console(highlight=False, soft_wrap=True)
OK = "✅"

USER = Annotated[int, typer.Argument(help="The app's user_id")]
AMOUNT = Annotated[Decimal, typer.Argument(help="Points, at most 2 decimals")]
EXTERNAL_ID = Annotated[
    str, typer.Argument(help="The operation's id: the same id again is a retry and changes nothing more")
]


@contextmanager
def _transaction() -> Iterator[Connection]:
    """One transaction on the warehouse; a refusal of the wallet becomes the command's error."""
    from ycpipeline.loyalty.wallet import WalletError

    engine = warehouse_engine()
    try:
        with engine.begin() as conn:
            yield conn
    except WalletError as refused:
        raise UserError(f"refused: {refused}") from None
    finally:
        engine.dispose()


@loyalty_app.command()
def spend(user_id: USER, amount: AMOUNT, external_id: EXTERNAL_ID) -> None:
    """Spend points of a user now (fails with "insufficient" above the available balance)."""
    from ycpipeline.loyalty import wallet

    with _transaction() as conn:
        entry_id = wallet.spend(conn, user_id, amount, external_id)
    console.print(f"{OK} spend {external_id}: entry {entry_id}")


@loyalty_app.command()
def hold(
    user_id: USER,
    amount: AMOUNT,
    external_id: EXTERNAL_ID,
    minutes: Annotated[int, typer.Option(min=1, help="The hold releases itself after this long")] = 30,
) -> None:
    """Reserve points until they are captured, released, or the hold expires."""
    from ycpipeline.loyalty import wallet

    expires_at = datetime.now(UTC) + timedelta(minutes=minutes)
    with _transaction() as conn:
        entry_id = wallet.hold(conn, user_id, amount, external_id, expires_at)
    console.print(f"{OK} hold {external_id}: entry {entry_id}, until {expires_at:%Y-%m-%d %H:%M} UTC")


@loyalty_app.command()
def capture(external_id: EXTERNAL_ID) -> None:
    """Spend what a hold reserved."""
    from ycpipeline.loyalty import wallet

    with _transaction() as conn:
        entry_id = wallet.capture(conn, external_id)
    console.print(f"{OK} capture {external_id}: entry {entry_id}")


@loyalty_app.command()
def release(external_id: EXTERNAL_ID) -> None:
    """Give back what a hold reserved."""
    from ycpipeline.loyalty import wallet

    with _transaction() as conn:
        entry_id = wallet.release(conn, external_id)
    console.print(f"{OK} release {external_id}: entry {entry_id}")


@loyalty_app.command()
def balance(user_id: USER) -> None:
    """A user's balance, available and held points, totals, and what expires soon."""
    from ycpipeline.loyalty import wallet

    with _transaction() as conn:
        b = wallet.balance(conn, user_id)
    console.print(
        f"user {b.user_id}: balance {b.balance}, available {b.available}, held {b.held}; "
        f"accrued {b.accrued}, reversed {b.reversed}, spent {b.spent}, expired {b.expired}"
    )
    for expires_on, amount in b.expiring:
        console.print(f"  {amount} expire on {expires_on}")


@loyalty_app.command()
def expire() -> None:
    """Run the nightly expiry now (BONUS_EXPIRY_MONTHS, BONUS_EXPIRY_NOTICE_DAYS)."""
    from ycpipeline.loyalty.expiry import ExpiryPolicy, expire_points
    from ycpipeline.settings import load_settings

    settings = load_settings()
    engine = warehouse_engine()
    policy = ExpiryPolicy(settings.bonus_expiry_months, settings.bonus_expiry_notice_days)
    try:
        result = expire_points(engine, policy)
    finally:
        engine.dispose()
    console.print(
        f"{OK} expiry ({f'after {policy.months} months' if policy.months else 'never'}): {result.holds_released} holds released, "
        f"{result.lots_expired} lots expired ({result.points_expired} points) of {result.users} users"
    )
