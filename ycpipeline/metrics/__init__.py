"""Prometheus metrics read at scrape time from the warehouse and Dagster's run storage (docs/alerts.md)."""

from ycpipeline.metrics.collector import LastRuns, PipelineCollector, metrics_app, metrics_route

__all__ = ["LastRuns", "PipelineCollector", "metrics_app", "metrics_route"]
