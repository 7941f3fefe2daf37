"""Whether the process executing a Dagster run in-process (a CLI command) is still alive.

That process holds a session advisory lock named after the run while the run executes. Postgres
releases a session's locks when its connection ends, so when the process dies (SIGKILL, a lost
machine) the lock is free while Dagster still says the run is STARTED: nothing else would ever end
that run, since no run launcher or code server watches an in-process run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text

_KEY = "hashtextextended('ycpipeline.in-process-run:' || :run, 0)"


@contextmanager
def holding_run(engine: Engine, run_id: str) -> Iterator[None]:
    """Hold the run's lock for as long as this process executes the run."""
    # Autocommit: the lock belongs to the session, and no transaction stays open during the run.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"SELECT pg_advisory_lock({_KEY})"), {"run": run_id})
        try:
            yield
        finally:
            conn.execute(text(f"SELECT pg_advisory_unlock({_KEY})"), {"run": run_id})


def run_holder_alive(engine: Engine, run_id: str) -> bool:
    """True while some process holds the run's lock (it is still executing the run)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        free = conn.execute(text(f"SELECT pg_try_advisory_lock({_KEY})"), {"run": run_id}).scalar_one()
        if free:
            conn.execute(text(f"SELECT pg_advisory_unlock({_KEY})"), {"run": run_id})
        return not free
