"""The alert sensors: they run in dagster-daemon, so runs from schedules, webhooks, backfills and the CLI
are all watched alike (docs/alerts.md).

- `alerts_run_failure_sensor` / `alerts_run_success_sensor`: a failed run opens an incident for its job
  and companies, the next success of the same kind ends it. They share the incidents through Dagster's
  key-value store (one key per incident), since a run status sensor's cursor is Dagster's own.
- `alerts_health_sensor`: failed ERROR checks, assets past their freshness policy, a webhook queue that
  does not drain, an API budget paused too long; its open incidents live in its cursor.

Every message goes through `deliver`, which scrubs the configured secrets out of it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import dagster as dg

from ycpipeline.alerts import Alert, Incident, channels_from_settings, deliver, track
from ycpipeline.alerts.incidents import from_state, to_state
from ycpipeline.alerts.warehouse import budget_incidents, queue_incidents
from ycpipeline.defs.alerts.observe import (
    check_incidents,
    links,
    run_failure_alert,
    run_incident_key,
    stale_assets,
)
from ycpipeline.defs.automation.webhook_runs import run_error
from ycpipeline.defs.resources import WarehouseResource
from ycpipeline.settings import Settings, load_settings

INTERVAL_SECONDS = load_settings().alerts_interval_seconds
RUN_INCIDENT_PREFIX = "ycpipeline/alerts/"


def _send(settings: Settings, alerts: list[Alert]) -> list[str]:
    return deliver(alerts, channels_from_settings(settings), settings.secret_values())


def _run_incident(instance: dg.DagsterInstance, key: str) -> Incident | None:
    stored = instance.daemon_cursor_storage.get_cursor_values({RUN_INCIDENT_PREFIX + key})
    text = stored.get(RUN_INCIDENT_PREFIX + key)
    return Incident.from_json(text) if text else None


def _set_run_incident(instance: dg.DagsterInstance, key: str, incident: Incident | None) -> None:
    value = incident.to_json() if incident is not None else ""
    instance.daemon_cursor_storage.set_cursor_values({RUN_INCIDENT_PREFIX + key: value})


def superseded(instance: dg.DagsterInstance, run: dg.DagsterRun) -> bool:
    """True when a run of the same kind (job and companies) created after `run` has succeeded.

    The failure and success sensors keep their own cursors: the success sensor may resolve an incident
    before this sensor reaches a second failure that preceded the success; announcing it then would
    open an incident that is already over.
    """
    record = instance.get_run_record_by_id(run.run_id)
    if record is None:
        return False
    later = instance.get_run_records(
        dg.RunsFilter(
            job_name=run.job_name,
            statuses=[dg.DagsterRunStatus.SUCCESS],
            created_after=record.create_timestamp,
        ),
        limit=100,
    )
    key = run_incident_key(run)
    return any(run_incident_key(r.dagster_run) == key for r in later)


# Runs launched by the CLI in-process carry no code location; watching all locations sees them too.
@dg.run_failure_sensor(
    name="alerts_run_failure_sensor",
    minimum_interval_seconds=INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    monitor_all_code_locations=True,
    description="Alerts once when a job fails for its companies (ALERTS_* channels); the recovery comes "
    "from alerts_run_success_sensor.",
)
def alerts_run_failure_sensor(context: dg.RunFailureSensorContext) -> None:
    """Open the run's incident and announce it, unless it is already open."""
    run = context.dagster_run
    key = run_incident_key(run)
    if _run_incident(context.instance, key) is not None:
        context.log.info(f"incident {key} already open: not repeated")
        return
    if superseded(context.instance, run):
        context.log.info(f"run {run.run_id}: a later run of the same kind succeeded; nothing to announce")
        return
    settings = load_settings()
    run_url, _ = links(settings)
    error = run_error(context.instance, run.run_id) or context.failure_event.message
    changes = track({}, {key: run_failure_alert(run, error, run_url(run.run_id))})
    failures = _send(settings, changes.to_send)
    _set_run_incident(context.instance, key, changes.still_open[key])
    context.log.info(f"incident {key} opened; delivery failures: {failures or 'none'}")


@dg.run_status_sensor(
    name="alerts_run_success_sensor",
    run_status=dg.DagsterRunStatus.SUCCESS,
    minimum_interval_seconds=INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    monitor_all_code_locations=True,
    description="Announces the recovery of a failed job (its next successful run for the same companies).",
)
def alerts_run_success_sensor(context: dg.RunStatusSensorContext) -> None:
    """End the run's incident, if one is open, and say so."""
    key = run_incident_key(context.dagster_run)
    incident = _run_incident(context.instance, key)
    if incident is None:
        return
    changes = track({key: incident}, {})
    _send(load_settings(), changes.to_send)
    _set_run_incident(context.instance, key, None)
    context.log.info(f"incident {key} resolved")


def _fail_windows(context: dg.SensorEvaluationContext) -> dict[dg.AssetKey, timedelta]:
    """Each asset's freshness fail window (the time-window policies: `FRESH_WITHIN_30_MINUTES`)."""
    assert context.repository_def is not None  # the daemon always evaluates with its definitions
    windows: dict[dg.AssetKey, timedelta] = {}
    for node in context.repository_def.asset_graph.asset_nodes:
        fail_window = getattr(node.freshness_policy, "fail_window", None)
        if fail_window is not None:
            windows[node.key] = fail_window.to_timedelta()
    return windows


@dg.sensor(
    name="alerts_health_sensor",
    minimum_interval_seconds=INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Alerts once per incident, and on recovery: failed ERROR asset checks (a company's token, "
    "licence or outage; ledger invariants; marts reconciliation), assets past their freshness policy, "
    "webhook events pending too long or failed, the API budget paused by 429s too long.",
)
def alerts_health_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource) -> dg.SkipReason:
    """Observe, compare with the open incidents (the cursor), announce what changed."""
    settings = load_settings()
    state = json.loads(context.cursor) if context.cursor else {}
    open_incidents = from_state(state.get("open", {}))
    now = datetime.now(UTC)
    run_url, asset_url = links(settings)
    assert context.repository_def is not None
    check_keys = context.repository_def.asset_graph.asset_check_keys
    observed, check_scope = check_incidents(context.instance, check_keys, run_url)
    observed.update(stale_assets(context.instance, _fail_windows(context), now, asset_url))
    paused_since: dict[str, str] = state.get("paused_since", {})
    if settings.warehouse_url is not None:
        with warehouse.engine().connect() as conn:
            observed.update(queue_incidents(conn, timedelta(minutes=settings.alerts_webhook_pending_minutes)))
            budgets, paused_since = budget_incidents(
                conn, paused_since, now, timedelta(minutes=settings.alerts_budget_paused_minutes)
            )
            observed.update(budgets)

    def in_scope(key: str) -> bool:
        return check_scope(key) if key.startswith("check:") else True

    changes = track(open_incidents, observed, in_scope, now=now.isoformat(timespec="seconds"))
    failures = _send(settings, changes.to_send)
    context.update_cursor(json.dumps({"open": to_state(changes.still_open), "paused_since": paused_since}))
    return dg.SkipReason(
        f"{len(changes.opened)} opened, {len(changes.resolved)} resolved, {len(changes.still_open)} open"
        + (f"; delivery failures: {', '.join(failures)}" if failures else "")
    )
