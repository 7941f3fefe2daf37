"""How far back the streams beside the records read, as a resource built from the settings."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg

from ycpipeline.settings import load_settings
from ycpipeline.sync.streams.cash_ledger import LedgerWindows


class StreamsResource(dg.ConfigurableResource):
    """CASH_LEDGER_OVERLAP_DAYS, CASH_LEDGER_WIDE_DAYS, SCHEDULES_DAYS_BACK and SYNC_DAYS_AHEAD."""

    cash_ledger_overlap_days: int
    cash_ledger_wide_days: int
    schedules_days_back: int
    schedules_days_ahead: int

    def ledger_windows(self) -> LedgerWindows:
        """The cash ledger's nightly and weekly windows."""
        return LedgerWindows(self.cash_ledger_overlap_days, self.cash_ledger_wide_days)

    def schedule_window(self, today: date) -> tuple[date, date]:
        """Two weeks back (by default) to the look-ahead."""
        return today - timedelta(days=self.schedules_days_back), today + timedelta(
            days=self.schedules_days_ahead
        )


@dg.definitions
def defs() -> dg.Definitions:
    """The `streams` resource."""
    s = load_settings()
    return dg.Definitions(
        resources={
            "streams": StreamsResource(
                cash_ledger_overlap_days=s.cash_ledger_overlap_days,
                cash_ledger_wide_days=s.cash_ledger_wide_days,
                schedules_days_back=s.schedules_days_back,
                schedules_days_ahead=s.sync_days_ahead,
            )
        }
    )
