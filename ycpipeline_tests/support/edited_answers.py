"""An ASGI wrapper that edits the successful JSON answers an app gives on a path, served over loopback
HTTP: a row the server was not asked for (a 2016 payment in a 2026 window), a list cut short of the
`total_count` it announces."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class EditedAnswers:
    """Serves `app`, passing each successful list answer on `path` (its envelope) through `edit`."""

    def __init__(self, app: ASGIApp, path: str, edit: Callable[[dict[str, Any]], None]) -> None:
        self.app = app
        self.path = path
        self.edit = edit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.path not in scope["path"]:
            await self.app(scope, receive, send)
            return
        start: Message = {}
        chunks: list[bytes] = []

        async def keep(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            else:
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, keep)
        body = b"".join(chunks)
        envelope = json.loads(body) if start.get("status") == 200 else None
        if isinstance(envelope, dict) and isinstance(envelope.get("data"), list) and envelope["data"]:
            self.edit(envelope)
            body = json.dumps(envelope).encode()
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def with_stray_row(make: Callable[[list[Any]], dict[str, Any]]) -> Callable[[dict[str, Any]], None]:
    """An edit adding `make(data)` to the answer's list."""
    return lambda envelope: envelope["data"].append(make(envelope["data"]))
