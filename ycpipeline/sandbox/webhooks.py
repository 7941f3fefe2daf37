"""Delivers the sandbox's change events to a webhook URL, as YClients does."""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any

import httpx

log = logging.getLogger(__name__)


class WebhookEmitter:
    """Posts each event to `url` from a background thread, in order; `flush()` waits for delivery."""

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        self.url = url
        self.delivered = 0
        self.failed = 0
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._http = httpx.Client(timeout=timeout)
        self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
        self._thread.start()

    def __call__(self, event: dict[str, Any]) -> None:
        self._queue.put(event)

    def _run(self) -> None:
        while (event := self._queue.get()) is not None:
            try:
                response = self._http.post(self.url, json=event)
                response.raise_for_status()
                self.delivered += 1
            except httpx.HTTPError as exc:
                self.failed += 1
                log.warning("webhook delivery failed: %s", type(exc).__name__)
            finally:
                self._queue.task_done()
        self._queue.task_done()

    def flush(self) -> None:
        """Block until every queued event was posted."""
        self._queue.join()

    def close(self) -> None:
        """Deliver what is queued, then stop."""
        self._queue.put(None)
        self._thread.join(timeout=10)
        self._http.close()
