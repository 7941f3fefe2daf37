"""Child process of the memory benchmark: one records sync over HTTP, then its own peak RSS."""

from __future__ import annotations

import resource
import sys
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine

from bench.common import client_options
from ycpipeline.sync.records import sync_records
from ycpipeline_sandbox import sandbox_client

if __name__ == "__main__":
    api, warehouse_url, start, end = sys.argv[1:5]
    engine = create_engine(warehouse_url)
    with sandbox_client(api, options=client_options(page_size=200)) as c:
        result = sync_records(
            c, engine, 235564, ZoneInfo("Europe/Moscow"), date.fromisoformat(start), date.fromisoformat(end)
        )
    print(result.fetched, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
