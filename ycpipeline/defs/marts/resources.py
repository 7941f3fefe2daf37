"""What the marts are computed with, as a resource built from the settings."""

from __future__ import annotations

import dagster as dg

from ycpipeline.marts.refresh import MartPolicy
from ycpipeline.settings import load_settings


class MartsResource(dg.ConfigurableResource):
    """MARTS_LOST_AFTER_DAYS, MARTS_ACTIVE_MIN_VISITS, MARTS_POINT_VALUE, YCLIENTS_PARTITION_TIMEZONE."""

    lost_after_days: int
    active_min_visits: int
    point_value: str
    fallback_zone: str

    def policy(self) -> MartPolicy:
        """The policy the refresh follows."""
        return MartPolicy(self.lost_after_days, self.active_min_visits, self.point_value, self.fallback_zone)


@dg.definitions
def defs() -> dg.Definitions:
    """The `marts` resource."""
    s = load_settings()
    return dg.Definitions(
        resources={
            "marts": MartsResource(
                lost_after_days=s.marts_lost_after_days,
                active_min_visits=s.marts_active_min_visits,
                point_value=str(s.marts_point_value),
                fallback_zone=s.yclients_partition_timezone,
            )
        }
    )
