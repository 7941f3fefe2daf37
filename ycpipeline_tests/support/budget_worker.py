"""Child process of the API budget tests: spends, reserves or locks the budget as told, then reports."""

from __future__ import annotations

import json
import sys
import threading
import time

from sqlalchemy import create_engine, text

from ycpipeline.client import PostgresBudget, RateLimiter
from ycpipeline_sandbox import sandbox_client
from ycpipeline_tests.support.clients import client_options

if __name__ == "__main__":
    mode, api, url, key, count, per_second = sys.argv[1:7]
    engine = create_engine(url)
    if mode == "hold-lock":  # take the budget's lock and die with it
        with engine.begin() as conn:
            # The lock PostgresBudget takes per reservation (the test checks that it blocks the parent).
            conn.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended('ycpipeline.api_budget:' || :key, 0))"),
                {"key": key},
            )
            print("holding", flush=True)
            time.sleep(600)
    if mode == "reserve":  # take send slots without ever sending, then die
        ahead = PostgresBudget(engine, key, float(per_second), 10_000, sleep=lambda _: None)
        for _ in range(int(count)):
            ahead.acquire()
        with engine.connect() as conn:
            last = conn.execute(text("SELECT max(slot_at) FROM yclients.api_budget_slots")).scalar_one()
        print(json.dumps({"last_slot": last.isoformat()}), flush=True)
        time.sleep(600)
    budget = (
        PostgresBudget(engine, key, float(per_second), 10_000)
        if mode == "shared"
        else RateLimiter(float(per_second), 10_000)
    )
    with sandbox_client(
        api, budget=budget, options=client_options(rate_limit_backoff_base=0.2, backoff_base=0.05)
    ) as client:
        threads = [
            threading.Thread(target=lambda: [client.get_company(235564) for _ in range(int(count) // 2)])
            for _ in range(2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    print(json.dumps({"requests": client.stats.requests, "rate_limited": client.stats.rate_limited}))
