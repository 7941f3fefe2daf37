"""A thread-safe, process-local sliding-window limiter for the per-IP YClients limits (5/s and 200/min).

Used where no warehouse holds the shared budget (`ycpipeline check` before WAREHOUSE_URL is set);
everything else draws on `ycpipeline.client.budget.PostgresBudget`.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class SlidingWindowLimiter:
    """Blocks `acquire()` so that no window of `period` seconds holds more than `limit` calls.

    Several windows can be combined (`RateLimiter`). `slack` stretches each window a little so that
    network jitter cannot squeeze two of our requests closer together at the server than we sent them.
    """

    def __init__(self, limit: int, period: float, *, slack: float = 0.05) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.period = period * (1 + slack)
        self._sent: deque[float] = deque()

    def wait_time(self, now: float) -> float:
        """Seconds to wait before one more call fits into the window."""
        while self._sent and now - self._sent[0] >= self.period:
            self._sent.popleft()
        if len(self._sent) < self.limit:
            return 0.0
        return self._sent[0] + self.period - now

    def record(self, now: float) -> None:
        """Count a call made at `now`."""
        self._sent.append(now)


class RateLimiter:
    """Combines windows (per second and per minute) behind one lock; `hold_off` pauses it (after a 429)."""

    def __init__(
        self,
        per_second: float,
        per_minute: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._windows = [
            SlidingWindowLimiter(max(1, int(per_second)), 1.0),
            SlidingWindowLimiter(max(1, int(per_minute)), 60.0, slack=0.01),
        ]
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep
        self._paused_until = float("-inf")

    def acquire(self) -> None:
        """Wait until a request may be sent, then count it."""
        while True:
            with self._lock:
                now = self._clock()
                wait = max(self._paused_until - now, *(w.wait_time(now) for w in self._windows))
                if wait <= 0:
                    for w in self._windows:
                        w.record(now)
                    return
            self._sleep(wait)

    def hold_off(self, seconds: float) -> None:
        """Send nothing for `seconds` from now (the server's window is full)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)
