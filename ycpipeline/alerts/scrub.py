"""Keeps secrets out of alerts: the webhook secret in URLs, auth headers, and every configured secret."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ycpipeline.redaction import redact
from ycpipeline.settings import mask

# The Authorization header's shape; a value may hold dots (JWTs), but a sentence's last one is not its own.
_AUTH_VALUES = re.compile(r"\b(Bearer|User)\s+[^\s,;)]*[^\s,;).]")
_BOT_PATH = re.compile(r"/bot[^/\s]+")


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every known secret masked (`settings.mask`), and auth values and bot paths hidden."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret:
            text = text.replace(secret, mask(secret))
    text = _AUTH_VALUES.sub(lambda m: f"{m.group(1)} ****", text)
    return _BOT_PATH.sub("/bot****", redact(text))
