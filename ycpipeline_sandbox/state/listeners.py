"""Who hears of the state's changes: the listeners every change is announced to (one webhook event per
object it touches) and each company's webhook settings (`/hooks_settings`)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from ycpipeline_sandbox.events import EventStatus, default_hooks_settings, make_event
from ycpipeline_sandbox.state.chain import Chain

WebhookListener = Callable[[dict[str, Any]], None]


class Listeners(Chain):
    """The listeners of changes and the companies' webhook settings."""

    def _init_listeners(self) -> None:
        self.listeners: list[WebhookListener] = []
        self._hooks = {cid: default_hooks_settings() for cid in self.salons}

    def hooks_settings(self, company_id: int) -> dict[str, Any]:
        """The company's webhook settings (`GET /hooks_settings`)."""
        with self._lock:
            return copy.deepcopy(self._hooks[company_id])

    def set_hooks_settings(self, company_id: int, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Store new webhook settings (absent flags keep their value); returns the settings now."""
        with self._lock:
            self._hooks[company_id].update(copy.deepcopy(dict(changes)))
            return self.hooks_settings(company_id)

    def _emit(
        self, company_id: int, resource: str, resource_id: int, status: EventStatus, data: dict[str, Any]
    ) -> None:
        if resource == "company":
            resource = self.config.company_webhook_resource
        event = make_event(company_id, resource, resource_id, status, data)
        for listener in list(self.listeners):
            listener(event)
