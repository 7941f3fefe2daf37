"""Keeps the webhook secret out of HTTP logs: it travels in the URL, which httpx and uvicorn log."""

from __future__ import annotations

import logging
import re

_SECRET_IN_URL = re.compile(r"(/webhook/)[^/\s\"'?]+|((?:\?|&)secret=)[^&\s\"']+")


def redact(text: str) -> str:
    """Mask `/webhook/<secret>` path segments and `secret=` query values."""
    return _SECRET_IN_URL.sub(lambda m: (m.group(1) or m.group(2)) + "****", text)


class RedactSecrets(logging.Filter):
    """Rewrites a log record's message with the secret masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def install() -> None:
    """Attach the filter to the loggers that print request URLs (idempotent)."""
    for name in ("httpx", "uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
