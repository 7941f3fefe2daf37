"""Catalogue assets: the services and staff of each company (one partition per company), from their
declarations (`sync/streams/services.py`, `staff.py`). Refreshed daily, on the `service` and `staff`
webhooks, and by every window refresh: not by the 30-minute tick, which stays at one request per company."""

from ycpipeline.defs.streams.factory import stream_asset
from ycpipeline.sync.streams import SERVICES, STAFF

yclients_services = stream_asset(SERVICES)
yclients_staff = stream_asset(STAFF)
