"""`ycpipeline sync`: the freshness tick (what the schedules run) or a window refresh, with a summary by
company. Every run goes through Dagster in-process, so it shows in the UI."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import dagster as dg
from rich.console import Console
from sqlalchemy import create_engine

from ycpipeline.cli.runs import RunFailedError, materializations, run_job, sync_window, window_counts
from ycpipeline.defs.metadata import named_failures


@dataclass
class CompanyOutcome:
    """What a sync did for one company: counts by what ran, and the errors that stopped a part of it."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def add_error(self, message: str) -> None:
        """Keep an error once, however many steps reported it."""
        if message not in self.errors:
            self.errors.append(message)


def failed_companies(result: dg.ExecuteInProcessResult) -> dict[int, list[str]]:
    """Companies named by the run's failed ERROR checks (the `*_companies_ok` checks), with the errors."""
    failed: dict[int, list[str]] = {}
    for evaluation in result.get_asset_check_evaluations():
        for company, message in named_failures(evaluation).items():
            failed.setdefault(company, []).append(message)
    return failed


def _int_counts(row: dict[str, object]) -> dict[str, int]:
    return {
        k: v for k, v in row.items() if isinstance(v, int) and not isinstance(v, bool) and k != "company_id"
    }


def run_tick(
    warehouse_url: str, companies: Sequence[int], now: datetime | None = None
) -> dict[int, CompanyOutcome]:
    """Plan the tick as the schedules do (`plan_tick`) and execute each planned run in-process."""
    from ycpipeline.defs.freshness.planning import plan_tick
    from ycpipeline.defs.freshness.resources import freshness_resource
    from ycpipeline.settings import load_settings

    settings = load_settings()
    engine = create_engine(warehouse_url, hide_parameters=True)
    try:
        plan = plan_tick(
            engine,
            companies,
            freshness_resource(),
            now or datetime.now(UTC),
            settings.yclients_partition_timezone,
            trigger="cli",
        )
    finally:
        engine.dispose()
    outcomes = {c: CompanyOutcome() for c in companies}
    for run in plan:
        try:
            result = run_job(run.job_name, tags=run.tags, run_config=run.run_config)
        except RunFailedError as exc:
            for company in run.companies:
                outcomes[company].add_error(f"{run.kind}: {exc}")
            continue
        if run.kind == "changes":
            for meta in materializations(result, "yclients_record_changes"):
                for company, row in meta["by_company_json"]["results"].items():
                    outcomes[int(company)].counts["changes"] = _int_counts(row)
        else:
            for company, counts in window_counts(result).items():
                outcomes.setdefault(company, CompanyOutcome()).counts["reconciliation"] = counts
        for company, messages in failed_companies(result).items():
            for message in messages:
                outcomes.setdefault(company, CompanyOutcome()).add_error(message)
    return outcomes


def run_window(
    companies: Sequence[int],
    start: date,
    end: date,
    on_progress: Callable[[int, int, int], None] | None = None,
) -> dict[int, CompanyOutcome]:
    """Refresh [start, end] company by company; one company's failure does not stop the others."""
    outcomes = {c: CompanyOutcome() for c in companies}
    for company in companies:
        try:
            outcomes[company].counts["window"] = sync_window([company], start, end, on_progress=on_progress)
        except RunFailedError as exc:
            outcomes[company].add_error(str(exc))
    return outcomes


def print_outcomes(console: Console, outcomes: dict[int, CompanyOutcome]) -> bool:
    """One line per company (✅/❌, counts by what ran) and its errors; True when any company failed."""
    failed = False
    for company_id, outcome in sorted(outcomes.items()):
        parts = [
            f"{what}: " + ", ".join(f"{k} {v}" for k, v in counts.items())
            for what, counts in outcome.counts.items()
        ]
        console.print(
            f"{'❌' if outcome.errors else '✅'} company {company_id}: " + ("; ".join(parts) or "—")
        )
        for error in outcome.errors:
            console.print(f"   {error}")
        failed = failed or bool(outcome.errors)
    return failed
