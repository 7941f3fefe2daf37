"""How far back the streams beside the records read, as a resource built from the settings (wired in
`defs/resources.py`)."""

from __future__ import annotations

from datetime import date, timedelta

from ycpipeline.defs.settings_resource import SettingsResource
from ycpipeline.sync.streams.cash_ledger import LedgerWindows


class StreamsResource(SettingsResource):
    """CASH_LEDGER_OVERLAP_DAYS, CASH_LEDGER_WIDE_DAYS, SCHEDULES_DAYS_BACK and SYNC_DAYS_AHEAD."""

    cash_ledger_overlap_days: int
    cash_ledger_wide_days: int
    schedules_days_back: int
    sync_days_ahead: int

    def ledger_windows(self) -> LedgerWindows:
        """The cash ledger's nightly and weekly windows."""
        return self.settings().ledger_windows()

    def schedule_window(self, today: date) -> tuple[date, date]:
        """Two weeks back (by default) to the look-ahead."""
        return today - timedelta(days=self.schedules_days_back), today + timedelta(days=self.sync_days_ahead)
