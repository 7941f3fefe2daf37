"""The expiry rule of bonus points, as a resource built from the settings."""

from __future__ import annotations

import dagster as dg

from ycpipeline.loyalty.expiry import ExpiryPolicy
from ycpipeline.settings import load_settings


class LoyaltyResource(dg.ConfigurableResource):
    """BONUS_EXPIRY_MONTHS, BONUS_EXPIRY_NOTICE_DAYS."""

    expiry_months: int
    expiry_notice_days: int

    def policy(self) -> ExpiryPolicy:
        """The rule the nightly expiry applies and writes for the app."""
        return ExpiryPolicy(self.expiry_months, self.expiry_notice_days)


@dg.definitions
def defs() -> dg.Definitions:
    """The `loyalty` resource."""
    s = load_settings()
    return dg.Definitions(
        resources={
            "loyalty": LoyaltyResource(
                expiry_months=s.bonus_expiry_months, expiry_notice_days=s.bonus_expiry_notice_days
            )
        }
    )
