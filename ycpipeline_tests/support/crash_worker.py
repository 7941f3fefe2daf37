"""Child process of the crash test: loads a window and derives the ledger, again and again, until killed."""

from __future__ import annotations

import sys
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine

from ycpipeline.loyalty.ledger import derive_ledger
from ycpipeline.sync.records import sync_records
from ycpipeline_sandbox import sandbox_client
from ycpipeline_tests.support.clients import client_options

if __name__ == "__main__":
    api, url, start, end = sys.argv[1:5]
    engine = create_engine(url)
    with sandbox_client(api, options=client_options(page_size=50)) as c:
        for loop in range(1000):
            sync_records(
                c,
                engine,
                235564,
                ZoneInfo("Europe/Moscow"),
                date.fromisoformat(start),
                date.fromisoformat(end),
                run_id=f"crash-{loop}",
                chunk_pages=2,
            )
            derive_ledger(engine, Decimal("0.05"), run_id=f"crash-{loop}")
