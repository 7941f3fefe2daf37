"""The freshness policy as a resource: change capture, reconciliation and the webhook queue's settings."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg

from ycpipeline.defs.settings_resource import SettingsResource
from ycpipeline.settings import load_settings
from ycpipeline.sync.changes import ChangePolicy


class FreshnessResource(SettingsResource):
    """How change capture, reconciliation and the webhook queue behave (README: "Keeping it fresh")."""

    records_start_date: str
    sync_days_ahead: int
    changes_overlap_minutes: int
    changes_days_ahead: int
    reconcile_every_hours: float
    reconcile_days_back: int
    webhook_max_attempts: int
    webhook_retention_days: int

    def records_start(self) -> date:
        """RECORDS_START_DATE as a date (parsed by the settings, the one place that does)."""
        return self.settings().records_start

    def change_policy(self) -> ChangePolicy:
        """What a change-capture pass follows."""
        return ChangePolicy(
            records_start=self.records_start(),
            horizon_days=self.changes_days_ahead,
            overlap=timedelta(minutes=self.changes_overlap_minutes),
        )


def freshness_resource() -> FreshnessResource:
    """The resource as the settings configure it."""
    return FreshnessResource.from_settings(load_settings())


@dg.definitions
def defs() -> dg.Definitions:
    """The `freshness` resource."""
    return dg.Definitions(resources={"freshness": freshness_resource()})
