"""Delivery of the sandbox's change events: to one URL (`WebhookEmitter`), or as YClients does, to the URLs
of each company's hooks settings for the kinds they enable (`HookDelivery`)."""

from __future__ import annotations

import logging
import queue
import threading
from typing import TYPE_CHECKING, Any

import httpx

from ycpipeline_sandbox.events import SETTINGS_KEY

if TYPE_CHECKING:
    from ycpipeline_sandbox.state import SandboxState

log = logging.getLogger(__name__)


class WebhookEmitter:
    """Posts each event to `url` from a background thread, in order, once (YClients does not retry);
    `flush()` waits for delivery."""

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


class HookDelivery:
    """A state listener posting each event to the URLs of its company's hooks settings, when the
    settings are active and enable the event's kind (staff under `master`, the company under `salon`)."""

    def __init__(self, state: SandboxState) -> None:
        self._state = state
        self._emitters: dict[str, WebhookEmitter] = {}
        self._lock = threading.Lock()

    def __call__(self, event: dict[str, Any]) -> None:
        settings = self._state.hooks_settings(event["company_id"])
        if not settings.get("active") or not settings.get(SETTINGS_KEY.get(event["resource"], "")):
            return
        for url in settings.get("urls", ()):
            with self._lock:
                emitter = self._emitters.get(url) or self._emitters.setdefault(url, WebhookEmitter(url))
            emitter(event)

    @property
    def delivered(self) -> int:
        """Events posted successfully, over every URL."""
        return sum(e.delivered for e in list(self._emitters.values()))

    def flush(self) -> None:
        """Block until every queued event was posted."""
        for emitter in list(self._emitters.values()):
            emitter.flush()

    def close(self) -> None:
        """Deliver what is queued, then stop every sender."""
        with self._lock:
            emitters, self._emitters = list(self._emitters.values()), {}
        for emitter in emitters:
            emitter.close()
