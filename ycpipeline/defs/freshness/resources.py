"""The freshness policy as a resource: change capture, reconciliation and the webhook queue's settings."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg

from ycpipeline.settings import load_settings
from ycpipeline.sync.changes import ChangePolicy


class FreshnessResource(dg.ConfigurableResource):
    """How change capture, reconciliation and the webhook queue behave (README: "Keeping it fresh")."""

    records_start_date: str
    sync_days_ahead: int
    changes_overlap_minutes: int
    changes_days_ahead: int
    reconcile_every_hours: float
    reconcile_days_back: int
    webhook_max_attempts: int
    webhook_retention_days: int

    def change_policy(self) -> ChangePolicy:
        """What a change-capture pass follows."""
        return ChangePolicy(
            records_start=date.fromisoformat(self.records_start_date),
            horizon_days=self.changes_days_ahead,
            overlap=timedelta(minutes=self.changes_overlap_minutes),
        )


def freshness_resource() -> FreshnessResource:
    """The resource as the settings configure it."""
    s = load_settings()
    return FreshnessResource(
        records_start_date=s.records_start_date,
        sync_days_ahead=s.sync_days_ahead,
        changes_overlap_minutes=s.changes_overlap_minutes,
        changes_days_ahead=s.changes_days_ahead,
        reconcile_every_hours=s.reconcile_every_hours,
        reconcile_days_back=s.reconcile_days_back,
        webhook_max_attempts=s.webhook_max_attempts,
        webhook_retention_days=s.webhook_retention_days,
    )


@dg.definitions
def defs() -> dg.Definitions:
    """The `freshness` resource."""
    return dg.Definitions(resources={"freshness": freshness_resource()})
