"""`ycpipeline sync`: the freshness tick (what the schedules run) or a window refresh, with a summary by
company. Every run goes through Dagster in-process, so it shows in the UI."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

import dagster as dg
from rich.console import Console

from ycpipeline.cli.runs import (
    RunFailedError,
    company_counts,
    company_partition_keys,
    failure_message,
    run_job,
    sync_window,
)
from ycpipeline.defs.metadata import named_failures
from ycpipeline.defs.partitions import group_keys


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


def run_tick(companies: Sequence[int] | None = None) -> dict[int, CompanyOutcome]:
    """What the 30-minute schedule runs, in-process: change capture (reconciling those due) for the
    companies (default: every tracked one), then the ledger and the marts. When a company failed, its
    partition is failed and `ledger_job` derives the others' points, as the daemon's follow-up does."""
    from ycpipeline.defs.automation.planning import changes_runs

    keys = company_partition_keys()
    wanted = list(companies) if companies is not None else [int(k) for k in keys]
    groups = group_keys(keys, wanted)
    outcomes = {c: CompanyOutcome() for c in wanted}
    for run in changes_runs(groups, "cli"):
        result = run_job(run.job_name, tags=run.tags, run_config=run.run_config, raise_on_error=False)
        for company, counts in company_counts(result).items():
            outcomes.setdefault(company, CompanyOutcome()).counts["changes"] = counts
        failed = failed_companies(result)
        for company, messages in failed.items():
            for message in messages:
                outcomes.setdefault(company, CompanyOutcome()).add_error(message)
        if result.success:
            continue
        if not failed:  # the run failed as a whole (the warehouse, the code): every company did
            for company in run.companies:
                outcomes[company].add_error(failure_message(result))
        run_job("ledger_job", raise_on_error=False)
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
