"""How every `ycpipeline` command ends on an error: one line on stderr and a non-zero exit.

Commands are registered through `OneLineErrorsTyper`, so a command added later gets this for free: it
raises (a `UserError`, or whatever the library raises) and the wrapper turns the exception into a line.
Known exception types have messages that say what to do; anything else is reported as unexpected, still
in one line. The global `--debug` flag lets the exception through, traceback and all.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import typer
from rich.console import Console
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

F = TypeVar("F", bound=Callable[..., Any])
BAD = "❌"
stderr = Console(stderr=True, highlight=False, soft_wrap=True)  # one line stays one line


class UserError(RuntimeError):
    """A mistake the user can fix (a missing setting, a date outside the partitions); says how."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def one_line(text: str, limit: int = 400) -> str:
    """`text` on a single line, at most `limit` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _database_error(exc: DBAPIError) -> str:
    # psycopg's messages name the host and port, never the password; the first line is the verdict.
    detail = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
    if isinstance(exc, OperationalError):
        return f"cannot reach the warehouse (check WAREHOUSE_URL and that Postgres runs): {detail}"
    if isinstance(exc, ProgrammingError) and "does not exist" in detail:
        return f"the warehouse schema is missing or behind (run `ycpipeline db upgrade`): {detail}"
    return f"the warehouse refused a statement: {detail}"


def describe(exc: Exception) -> tuple[str, int]:
    """The line and the exit code for an exception a command raised."""
    # Imported here: the CLI's start-up stays fast and free of the library's heavy imports.
    from ycpipeline.client.errors import YClientsError
    from ycpipeline.loyalty.app_users import AppUsersMismatchError
    from ycpipeline.settings import SettingsError
    from ycpipeline.warehouse.embedded import EmbeddedPostgresError

    if isinstance(exc, UserError):
        return one_line(str(exc)), exc.exit_code
    if isinstance(exc, SettingsError):
        return one_line(str(exc)), 2
    if isinstance(exc, DBAPIError):
        return one_line(_database_error(exc)), 1
    if isinstance(exc, (YClientsError, AppUsersMismatchError, EmbeddedPostgresError)):
        return one_line(str(exc)), 1
    # A failed run can only come from cli.runs once loaded: no need to import Dagster to recognise it.
    runs = sys.modules.get("ycpipeline.cli.runs")
    if runs is not None and isinstance(exc, runs.RunFailedError):
        return one_line(str(exc)), 1
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return one_line(
        f"unexpected error ({type(exc).__name__}): {first} (run with --debug for the traceback)"
    ), 1


@dataclass
class ErrorOptions:
    """Set by the CLI's global options before a command runs."""

    debug: bool = False


options = ErrorOptions()


def ending_in_one_line(command: F) -> F:
    """`command`, with any exception it raises printed as one line and turned into an exit code."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:
            if options.debug:
                raise
            message, code = describe(exc)
            stderr.print(f"{BAD} {message}", markup=False)
            raise typer.Exit(code) from None

    return run  # type: ignore[return-value]  # wraps() keeps the signature Typer reads


class OneLineErrorsTyper(typer.Typer):
    """A Typer whose every command ends an error as one line (see `ending_in_one_line`)."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        register = super().command(*args, **kwargs)

        def decorator(function: F) -> F:
            register(ending_in_one_line(function))
            return function

        return decorator

    def add_typer(self, typer_instance: typer.Typer, *args: Any, **kwargs: Any) -> None:
        # A plain Typer's commands would end in tracebacks: refuse it where it is added, at import.
        if not isinstance(typer_instance, OneLineErrorsTyper):
            raise TypeError(
                "sub-commands of ycpipeline are a OneLineErrorsTyper (cli/errors.py), not a Typer"
            )
        super().add_typer(typer_instance, *args, **kwargs)
