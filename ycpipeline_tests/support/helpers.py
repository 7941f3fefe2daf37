"""Helpers shared by the tests of the webhook queue, the sensor and the schedules."""

from __future__ import annotations

from typing import Any

import dagster as dg
from sqlalchemy import Engine, text

from ycpipeline.cli.runs import RunFailedError, run_job


def definitions() -> dg.Definitions:
    """The code location, loaded as Dagster loads it."""
    from ycpipeline.definitions import defs

    return defs()


def sensor_tick(instance: dg.DagsterInstance) -> dg.SensorResult | dg.SkipReason:
    """One evaluation of the webhook sensor, as the daemon would run it."""
    defs = definitions()
    sensor = defs.resolve_sensor_def("yclients_webhook_sensor")
    with dg.build_sensor_context(instance=instance, resources=defs.resources, definitions=defs) as context:
        result = sensor(context)
    assert isinstance(result, (dg.SensorResult, dg.SkipReason))
    return result


def requests_of(result: dg.SensorResult | dg.SkipReason) -> list[dg.RunRequest]:
    """The run requests of a tick (none for a skip)."""
    return list(result.run_requests or []) if isinstance(result, dg.SensorResult) else []


def execute(request: dg.RunRequest) -> str | None:
    """Launch a requested run in-process, as the daemon would; returns its failure message, if any."""
    assert request.job_name
    try:
        run_job(request.job_name, tags=request.tags, run_config=request.run_config)
    except RunFailedError as exc:
        return str(exc)
    return None


def statuses(engine: Engine) -> dict[str, int]:
    """Webhook events by status."""
    with engine.connect() as conn:
        return dict(
            conn.execute(text("SELECT status, count(*) FROM yclients.webhook_events GROUP BY 1")).all()
        )


def event(record_id: int, company: int = 235564, *, action: str = "update", **data: Any) -> dict[str, Any]:
    """A record event as YClients sends it."""
    return {
        "company_id": company,
        "resource": "record",
        "resource_id": record_id,
        "status": action,
        "data": {"id": record_id, **data},
    }


def preload(sandbox_url: str, engine: Engine, companies: tuple[int, ...] = (235564, 235565)) -> None:
    """Each company's first change-capture pass (its full load and watermark), outside Dagster.

    Through Dagster the pass would log a materialization per loaded date into the tests' slow SQLite
    event log; tests of what comes after the first pass start from here.
    """
    from datetime import date, timedelta

    from ycpipeline.sync.changes import ChangePolicy, capture_changes
    from ycpipeline.sync.companies import company_timezone
    from ycpipeline_sandbox import sandbox_client
    from ycpipeline_tests.support.clients import client_options

    policy = ChangePolicy(date(2024, 1, 1), horizon_days=365, overlap=timedelta(minutes=10))
    with sandbox_client(sandbox_url, options=client_options(page_size=200)) as client:
        for company_id in companies:
            zone = company_timezone(client, engine, company_id)
            capture_changes(client, engine, company_id, zone, policy)
