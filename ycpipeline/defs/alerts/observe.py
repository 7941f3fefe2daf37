"""What Dagster's storage says is wrong now: failed runs, failed ERROR checks, assets past their freshness.

Each function turns Dagster's records into `Alert`s keyed by incident (ycpipeline.alerts.incidents).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta

import dagster as dg

from ycpipeline.alerts import Alert, first_line
from ycpipeline.defs.metadata import named_failures
from ycpipeline.defs.partitions import PARTITION_TAG, RANGE_END, RANGE_START
from ycpipeline.settings import Settings

NEXT_STEP = (
    "What to do: fix the cause the error names; then re-execute the run or backfill the failed partitions "
    "from the UI (or `ycpipeline sync`), or wait for the next tick, which retries on its own."
)


def covered_companies(run: dg.DagsterRun) -> frozenset[int] | None:
    """The company a run worked on when it covered one (its partition, or a range of one); None when it
    covered a range of several (a tick: every company)."""
    single = run.tags.get(PARTITION_TAG)
    if single is None and run.tags.get(RANGE_START) == run.tags.get(RANGE_END):
        single = run.tags.get(RANGE_START)
    return frozenset({int(single)}) if single is not None and single.isdigit() else None


def links(settings: Settings) -> tuple[Callable[[str], str | None], Callable[[dg.AssetKey], str | None]]:
    """Builders of links to a run and to an asset in the Dagster UI (None without ALERTS_DAGSTER_URL)."""
    base = settings.alerts_dagster_url

    def run(run_id: str) -> str | None:
        return f"{base}/runs/{run_id}" if base else None

    def asset(key: dg.AssetKey) -> str | None:
        return f"{base}/assets/{'/'.join(key.path)}" if base else None

    return run, asset


def run_incident_key(run: dg.DagsterRun) -> str:
    """One incident per job and set of companies: the next success of the same kind of run ends it."""
    companies = covered_companies(run)
    return f"run:{run.job_name}:{','.join(map(str, sorted(companies))) if companies else '*'}"


def run_failure_alert(run: dg.DagsterRun, error: str | None, url: str | None) -> Alert:
    """The alert of a failed run."""
    companies = covered_companies(run)
    company = next(iter(companies)) if companies and len(companies) == 1 else None
    scope = (
        f" for company {company}"
        if company
        else (f" for companies {', '.join(map(str, sorted(companies)))}" if companies else "")
    )
    return Alert(
        severity="critical",
        title=f"Run failed: {run.job_name}{scope}",
        text=f"Run {run.run_id[:8]} of {run.job_name}{scope} failed. First error: {first_line(error)} {NEXT_STEP}",
        company_id=company,
        run_id=run.run_id,
        url=url,
    )


def _summary(evaluation: dg.AssetCheckEvaluation) -> str:
    """The check's description, else its figures (`violating_records: 3`): what it found."""
    if evaluation.description:
        return evaluation.description
    figures = [
        f"{name}: {entry.value}"
        for name, entry in evaluation.metadata.items()
        if not name.startswith("dagster/")
    ]
    return "; ".join(figures) or "the check failed without a description"


def _failed_check_alerts(
    check_key: dg.AssetCheckKey, evaluation: dg.AssetCheckEvaluation, run_id: str, url: str | None
) -> dict[str, Alert]:
    asset = check_key.asset_key.to_user_string()
    prefix = f"check:{asset}:{check_key.name}"
    named = named_failures(evaluation)
    if named:
        return {
            f"{prefix}:{company}": Alert(
                severity="critical",
                title=f"Check failed: {check_key.name} for company {company}",
                text=(
                    f"The check {check_key.name} of {asset} failed for company {company}. "
                    f"First error: {first_line(message)} {NEXT_STEP}"
                ),
                company_id=company,
                asset=asset,
                check=check_key.name,
                run_id=run_id,
                url=url,
            )
            for company, message in named.items()
        }
    return {
        f"{prefix}:*": Alert(
            severity="critical",
            title=f"Check failed: {check_key.name} on {asset}",
            text=(
                f"The check {check_key.name} of {asset} failed. First error: "
                f"{first_line(_summary(evaluation))} {NEXT_STEP}"
            ),
            asset=asset,
            check=check_key.name,
            run_id=run_id,
            url=url,
        )
    }


def check_incidents(
    instance: dg.DagsterInstance, check_keys: Iterable[dg.AssetCheckKey], run_url: Callable[[str], str | None]
) -> tuple[dict[str, Alert], Callable[[str], bool]]:
    """Failed ERROR checks by incident key (their latest evaluations), and which open check incidents
    those evaluations speak for: a run that covered one company says nothing of another's."""
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(list(check_keys))
    observed: dict[str, Alert] = {}
    scopes: dict[str, frozenset[int] | None] = {}
    runs: dict[str, dg.DagsterRun | None] = {}  # one run usually evaluated every check: read it once
    for check_key, record in latest.items():
        entry = record.event
        event = entry.dagster_event if entry is not None else None
        evaluation = event.event_specific_data if event is not None else None
        if not isinstance(evaluation, dg.AssetCheckEvaluation):
            continue  # planned or still running: nothing to say yet
        prefix = f"check:{check_key.asset_key.to_user_string()}:{check_key.name}"
        if record.run_id not in runs:
            runs[record.run_id] = instance.get_run_by_id(record.run_id)
        run = runs[record.run_id]
        scopes[prefix] = covered_companies(run) if run is not None else None
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
            observed.update(
                _failed_check_alerts(check_key, evaluation, record.run_id, run_url(record.run_id))
            )

    def in_scope(key: str) -> bool:
        prefix, _, company = key.rpartition(":")
        if prefix not in scopes:
            return False
        covered = scopes[prefix]
        return covered is None or company == "*" or int(company) in covered

    return observed, in_scope


def stale_assets(
    instance: dg.DagsterInstance,
    fail_windows: Mapping[dg.AssetKey, timedelta],
    now: datetime,
    asset_url: Callable[[dg.AssetKey], str | None],
) -> dict[str, Alert]:
    """Assets whose latest materialization is older than their freshness policy's fail window.

    An asset never materialized is not stale yet (a new deployment would alert on everything).
    """
    found: dict[str, Alert] = {}
    latest = instance.get_latest_materialization_events(list(fail_windows))
    for key, entry in latest.items():
        if entry is None:
            continue
        age = now.timestamp() - entry.timestamp
        window = fail_windows[key]
        if age > window.total_seconds():
            asset = key.to_user_string()
            found[f"stale:{asset}"] = Alert(
                severity="warning",
                title=f"Asset stale: {asset}",
                text=(
                    f"{asset} was last materialized {age / 60:.0f} min ago; its freshness policy allows "
                    f"{window.total_seconds() / 60:.0f} min. What to do: check that dagster-daemon runs and "
                    "the schedules are on, and look for failed or queued runs of this asset."
                ),
                asset=asset,
                url=asset_url(key),
            )
    return found
