"""What the marts are computed with, as a resource built from the settings (wired in `defs/resources.py`)."""

from __future__ import annotations

from ycpipeline.defs.settings_resource import SettingsResource
from ycpipeline.marts.refresh import MartPolicy


class MartsResource(SettingsResource):
    """MARTS_LOST_AFTER_DAYS, MARTS_ACTIVE_MIN_VISITS, MARTS_POINT_VALUE, YCLIENTS_PARTITION_TIMEZONE."""

    marts_lost_after_days: int
    marts_active_min_visits: int
    marts_point_value: str
    yclients_partition_timezone: str

    def policy(self) -> MartPolicy:
        """The policy the refresh follows."""
        return self.settings().mart_policy()
