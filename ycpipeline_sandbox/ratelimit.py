"""The sandbox's own request limit: the API's 5 per second and 200 per minute per IP, as sliding windows."""

from __future__ import annotations

import threading
import time
from collections import deque


class SlidingWindowLimiter:
    """Admits a request when every window (e.g. 5 per 1 s, 200 per 60 s) has room for it."""

    def __init__(self, per_second: int | None, per_minute: int | None) -> None:
        self._windows: list[tuple[int, float, deque[float]]] = [
            (limit, period, deque()) for limit, period in ((per_second, 1.0), (per_minute, 60.0)) if limit
        ]
        self._lock = threading.Lock()

    def allow(self) -> float | None:
        """None when the request fits (and counts it), else the seconds until it would fit."""
        with self._lock:
            now = time.monotonic()
            waits = []
            for limit, period, sent in self._windows:
                while sent and now - sent[0] >= period:
                    sent.popleft()
                if len(sent) >= limit:
                    waits.append(sent[0] + period - now)
            if waits:
                return max(waits)
            for _, _, sent in self._windows:
                sent.append(now)
            return None
