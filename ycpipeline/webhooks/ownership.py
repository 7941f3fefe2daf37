"""Whether the process that runs a webhook batch's run in-process (`webhook drain`) is still alive.

That process holds a session advisory lock named after the batch while the run executes. Postgres
releases a session's locks when its connection ends, so when the process dies (SIGKILL, a lost
machine) the lock is free while Dagster still says the run is STARTED: nothing else would ever end
that run, since no run launcher or code server watches an in-process run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text

_KEY = "hashtextextended('ycpipeline.webhook-batch:' || :batch, 0)"


@contextmanager
def running_batch(engine: Engine, batch_id: str) -> Iterator[None]:
    """Hold the batch's lock for as long as this process runs the batch's run."""
    # Autocommit: the lock belongs to the session, and no transaction stays open during the run.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"SELECT pg_advisory_lock({_KEY})"), {"batch": batch_id})
        try:
            yield
        finally:
            conn.execute(text(f"SELECT pg_advisory_unlock({_KEY})"), {"batch": batch_id})


def batch_runner_alive(engine: Engine, batch_id: str) -> bool:
    """True while some process holds the batch's lock (its in-process run is still executing)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        free = conn.execute(text(f"SELECT pg_try_advisory_lock({_KEY})"), {"batch": batch_id}).scalar_one()
        if free:
            conn.execute(text(f"SELECT pg_advisory_unlock({_KEY})"), {"batch": batch_id})
        return not free
