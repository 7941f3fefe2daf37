"""Alerts: what an incident says, when it opens and ends, and the channels that carry it.

Nothing here knows Dagster: the sensors in `ycpipeline.defs.alerts` observe runs, checks and freshness,
this package turns observations into deduplicated messages and delivers them. docs/alerts.md lists every
alert with an example message.
"""

from ycpipeline.alerts.channels import Channel, ChannelError, channels_from_settings, deliver
from ycpipeline.alerts.incidents import Changes, Incident, track
from ycpipeline.alerts.messages import Alert, first_line

__all__ = [
    "Alert",
    "Changes",
    "Channel",
    "ChannelError",
    "Incident",
    "channels_from_settings",
    "deliver",
    "first_line",
    "track",
]
