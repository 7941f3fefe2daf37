"""How a client pages, spreads its requests and retries: one frozen object, built from the settings.

The settings (`Settings.client_options()`) are the single home of every documented default (page size,
concurrency, the patience with HTTP 429s); the knobs no setting exposes keep their one default here and
in `RetryPolicy`. Resources, commands and tests all build this same object, so none restates a default.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from ycpipeline.client.retrying import RetryPolicy


@dataclass(frozen=True)
class ClientOptions:
    """The options of a `YClientsClient`."""

    page_size: int  # YCLIENTS_PAGE_SIZE
    concurrency: int  # YCLIENTS_CONCURRENCY: record pages fetched in parallel
    retry: RetryPolicy  # patience from YCLIENTS_RATE_LIMIT_PATIENCE_SECONDS; the rest fits the real API
    timeout: float = 30.0  # seconds per request

    def adjusted(self, **changes: Any) -> ClientOptions:
        """A copy with some fields changed, the retry policy's (`backoff_base`, `max_attempts`…) included."""
        retry_names = {f.name for f in fields(RetryPolicy)}
        retry = {k: v for k, v in changes.items() if k in retry_names}
        own = {k: v for k, v in changes.items() if k not in retry_names}
        return replace(self, **own, retry=replace(self.retry, **retry))
