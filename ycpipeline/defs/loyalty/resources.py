"""The expiry rule of bonus points, as a resource built from the settings (wired in `defs/resources.py`)."""

from __future__ import annotations

from ycpipeline.defs.settings_resource import SettingsResource
from ycpipeline.loyalty.expiry import ExpiryPolicy


class LoyaltyResource(SettingsResource):
    """BONUS_EXPIRY_MONTHS, BONUS_EXPIRY_NOTICE_DAYS."""

    bonus_expiry_months: int
    bonus_expiry_notice_days: int

    def policy(self) -> ExpiryPolicy:
        """The rule the nightly expiry applies and writes for the app."""
        return self.settings().expiry_policy()
