"""The pipeline's Prometheus metrics, read from where the facts already are at each scrape.

A custom collector (prometheus_client's pattern for values that live elsewhere) runs a handful of small
queries per scrape: counts by status over the webhook queue, the sync state's watermarks, the rejected
rows by entity (an index-only count), the logged request counts, and the latest successful runs from
Dagster's run storage when the caller passes a reader (`ycpipeline.metrics.runs`). Cheap enough to
scrape every 15 s.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from functools import partial

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ycpipeline.client.usage import requests_by_status
from ycpipeline.webhooks.backlog import oldest_pending_seconds
from ycpipeline.webhooks.queue import counts_by_status

log = logging.getLogger(__name__)
LastRuns = Callable[[], dict[str, float]]


def _watermark_lags(conn: Connection) -> dict[int, float]:
    rows = conn.execute(
        text("""SELECT company_id, extract(epoch FROM now() - watermark) FROM yclients.sync_state
                WHERE stream = 'records' AND watermark IS NOT NULL""")
    ).all()
    return {int(company): float(lag) for company, lag in rows}


def _rejected_by_entity(conn: Connection) -> dict[str, int]:
    rows = conn.execute(text("SELECT entity, count(*) FROM yclients.rejected_rows GROUP BY entity")).all()
    return {str(entity): int(n) for entity, n in rows}


class PipelineCollector(Collector):
    """Collects the ycpipeline_* metrics from the warehouse, and each job's latest success from
    `last_runs` (Dagster's run storage, `ycpipeline.metrics.runs`) when given."""

    def __init__(self, engine: Engine, last_runs: LastRuns | None) -> None:
        self._engine = engine
        self._last_runs = last_runs

    def collect(self) -> Iterator[Metric]:
        """One scrape: every metric family, read now."""
        with self._engine.connect() as conn:
            statuses = counts_by_status(conn)
            oldest = oldest_pending_seconds(conn)
            requests, paused = requests_by_status(conn)
            lags = _watermark_lags(conn)
            rejected = _rejected_by_entity(conn)
        events = GaugeMetricFamily(
            "ycpipeline_webhook_events",
            "Webhook events in yclients.webhook_events by status",
            labels=["status"],
        )
        for status, n in statuses.items():
            events.add_metric([status], n)
        yield events
        yield GaugeMetricFamily(
            "ycpipeline_webhook_oldest_pending_seconds",
            "Age of the oldest pending webhook event",
            value=oldest,
        )
        calls = CounterMetricFamily(
            "ycpipeline_api_requests",
            "YClients API requests by HTTP status (timeout: no answer), as logged by finished runs",
            labels=["status"],
        )
        for status, n in sorted(requests.items()):
            calls.add_metric([status], n)
        yield calls
        yield CounterMetricFamily(
            "ycpipeline_api_budget_paused",
            "Seconds the shared API budget was held off after HTTP 429s, summed over runs",
            value=paused,
            unit="seconds",
        )
        lag = GaugeMetricFamily(
            "ycpipeline_watermark_lag_seconds",
            "Seconds since each company's change-capture watermark (every change before it is loaded)",
            labels=["company_id"],
        )
        for company, seconds in sorted(lags.items()):
            lag.add_metric([str(company)], seconds)
        yield lag
        quarantined = GaugeMetricFamily(
            "ycpipeline_rejected_rows", "Rows in yclients.rejected_rows by entity", labels=["entity"]
        )
        for entity, n in sorted(rejected.items()):
            quarantined.add_metric([entity], n)
        yield quarantined
        if self._last_runs is not None:
            success = GaugeMetricFamily(
                "ycpipeline_last_run_success_timestamp",
                "End time (Unix seconds) of each job's latest successful run",
                labels=["job"],
            )
            for job, ended in sorted(self._last_runs().items()):
                success.add_metric([job], ended)
            yield success


def metrics_route(engine: Engine, last_runs: LastRuns | None = None) -> Route:
    """`GET /metrics` in Prometheus' text format, for any Starlette app."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PipelineCollector(engine, last_runs))

    async def metrics(request: Request) -> Response:
        try:
            body = await asyncio.to_thread(partial(generate_latest, registry))
        except SQLAlchemyError as exc:
            log.error("metrics unavailable: %s", type(exc).__name__)
            return Response("warehouse unavailable\n", status_code=503, media_type="text/plain")
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return Route("/metrics", metrics)


def metrics_app(engine: Engine, last_runs: LastRuns | None = None) -> Starlette:
    """A Starlette app serving only `/metrics` (`ycpipeline metrics serve`)."""
    return Starlette(routes=[metrics_route(engine, last_runs)])
