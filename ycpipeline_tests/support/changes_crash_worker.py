"""Child process of the watermark crash test: change-capture passes and ledger derivations until killed."""

from __future__ import annotations

import sys
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine

from ycpipeline.loyalty.ledger import derive_ledger
from ycpipeline.sync.changes import ChangePolicy, capture_changes
from ycpipeline_sandbox import sandbox_client
from ycpipeline_tests.support.clients import client_options

if __name__ == "__main__":
    api, url = sys.argv[1:3]
    engine = create_engine(url)
    policy = ChangePolicy(date(2024, 1, 1), horizon_days=365, overlap=timedelta(minutes=10))
    # Small pages and chunks: a pass spans many requests and COPYs, so a kill lands inside one.
    with sandbox_client(api, options=client_options(page_size=5)) as client:
        for loop in range(100_000):
            capture_changes(
                client,
                engine,
                235564,
                ZoneInfo("Europe/Moscow"),
                policy,
                run_id=f"crash-{loop}",
                chunk_pages=1,
            )
            derive_ledger(engine, Decimal("0.05"), run_id=f"crash-{loop}")
