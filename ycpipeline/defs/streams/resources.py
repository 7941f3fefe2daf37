"""What the streams' readers are told (booking links, how far back the windowed streams read), as a
resource built from the settings (wired in `defs/resources.py`)."""

from __future__ import annotations

from ycpipeline.defs.settings_resource import SettingsResource
from ycpipeline.sync.declaration import StreamOptions


class StreamsResource(SettingsResource):
    """The booking links' settings, CASH_LEDGER_OVERLAP_DAYS, CASH_LEDGER_WIDE_DAYS, SCHEDULES_DAYS_BACK,
    SYNC_DAYS_AHEAD and GOODS_DAYS_BACK."""

    yclients_booking_form_url: str | None
    yclients_service_link_template: str
    yclients_staff_link_template: str
    cash_ledger_overlap_days: int
    cash_ledger_wide_days: int
    schedules_days_back: int
    sync_days_ahead: int
    goods_days_back: int

    def options(self) -> StreamOptions:
        """The options every stream's reader gets."""
        return self.settings().stream_options()
