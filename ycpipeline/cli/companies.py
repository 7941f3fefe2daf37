"""`ycpipeline companies`: the salons the pipeline syncs, added and removed without a redeploy."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from ycpipeline.cli.errors import OneLineErrorsTyper, UserError
from ycpipeline.cli.warehouse import warehouse_engine

companies_app = OneLineErrorsTyper(
    help="The salons (YClients companies) the pipeline syncs: add, remove, list.", no_args_is_help=True
)
console = Console(highlight=False, soft_wrap=True)
OK = "✅"

if TYPE_CHECKING:
    from sqlalchemy import Engine

IDS = Annotated[list[int], typer.Argument(help="YClients company ids")]


def _in_step() -> None:
    """Bring the company partitions in step now (the companies sensor would within a minute)."""
    from ycpipeline.cli.runs import company_partition_keys, ensure_dagster_home

    ensure_dagster_home()
    company_partition_keys()


def _valid(ids: list[int]) -> list[int]:
    from ycpipeline.warehouse.tracked_companies import valid_ids

    try:
        return valid_ids(ids)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def _edit(
    company_ids: list[int], edit: Callable[[Engine, list[int]], list[int]], done: str, not_done: str
) -> list[int]:
    """Apply `edit` to the list, bring the partitions in step and say, per company, what happened."""
    ids = _valid(company_ids)
    engine = warehouse_engine()
    try:
        changed = edit(engine, ids)
    finally:
        engine.dispose()
    _in_step()
    for company_id in ids:
        console.print(f"{OK} company {company_id}: {done if company_id in changed else not_done}")
    return changed


@companies_app.command("add")
def add(company_ids: IDS) -> None:
    """Sync these companies from the next tick on (their history first); the same id again is no-op."""
    from ycpipeline.warehouse.tracked_companies import add as add_companies

    added = _edit(company_ids, add_companies, "added", "already tracked")
    if added:
        named = " ".join(f"--company {c}" for c in added)
        console.print(
            "the companies sensor reads their catalogue within a minute and the next tick loads their "
            f"history (or now: ycpipeline sync-catalog {named} && ycpipeline sync {named})"
        )


@companies_app.command("remove")
def remove(company_ids: IDS) -> None:
    """Stop syncing these companies; their rows stay in the warehouse, their partitions go."""
    from ycpipeline.warehouse.tracked_companies import remove as remove_companies

    _edit(company_ids, remove_companies, "removed", "was not tracked")


@companies_app.command("list")
def list_companies() -> None:
    """Every company the list has had: tracked ones first, then removed ones."""
    from ycpipeline.settings import load_settings
    from ycpipeline.warehouse.tracked_companies import listing, tracked

    engine = warehouse_engine()
    try:
        tracked(engine, load_settings().company_ids)  # seeded from YCLIENTS_COMPANY_ID, as a tick would
        rows = listing(engine)
    finally:
        engine.dispose()
    if not rows:
        console.print("no company is tracked: ycpipeline companies add ID")
    for row in rows:
        state = f"removed {row.removed_at:%Y-%m-%d %H:%M}" if row.removed_at else "tracked"
        console.print(f"{row.company_id}\t{state}\tadded {row.added_at:%Y-%m-%d %H:%M} by {row.added_by}")
