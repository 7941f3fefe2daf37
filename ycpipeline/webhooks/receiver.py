"""The webhook receiver: `POST /api/v1/yclients/webhook`, authenticated by a shared secret in the URL.

YClients only lets you register a URL, so the secret travels in the path
(`/api/v1/yclients/webhook/<secret>`) or the query (`?secret=<secret>`). Each accepted event is durably
in the inbox before the answer (2xx); refused bodies go to the dead-letter folder with the reason.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ycpipeline.webhooks.events import parse_events
from ycpipeline.webhooks.inbox import Inbox

log = logging.getLogger(__name__)
WEBHOOK_PATH = "/api/v1/yclients/webhook"
DEFAULT_MAX_BODY = 1024 * 1024


class _TooLarge(Exception):
    def __init__(self, head: bytes) -> None:
        self.head = head


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _TooLarge(b"")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge(b"".join(chunks)[:4096])
        chunks.append(chunk)
    return b"".join(chunks)


def create_receiver(
    inbox_dir: Path, secret: str, *, max_body: int = DEFAULT_MAX_BODY, read_timeout: float = 10.0
) -> Starlette:
    """The receiver app writing into `inbox_dir`; `secret` must be non-empty."""
    if not secret:
        raise ValueError("YCLIENTS_WEBHOOK_SECRET must be set to run the webhook receiver")
    inbox = Inbox(inbox_dir).ensure()
    expected = secret.encode()

    def authorised(request: Request) -> bool:
        given = request.path_params.get("secret") or request.query_params.get("secret") or ""
        return hmac.compare_digest(given.encode(), expected)

    async def receive(request: Request) -> JSONResponse:
        if not authorised(request):
            return JSONResponse({"error": "unauthorised"}, status_code=401)
        try:
            body = await asyncio.wait_for(_read_body(request, max_body), timeout=read_timeout)
        except _TooLarge as exc:
            await asyncio.to_thread(inbox.dead_letter, exc.head, f"body larger than {max_body} bytes")
            return JSONResponse({"error": f"body larger than {max_body} bytes"}, status_code=413)
        except TimeoutError:
            return JSONResponse({"error": "request body too slow"}, status_code=408)
        except ClientDisconnect:
            return JSONResponse({"error": "client went away"}, status_code=400)
        try:
            parsed = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            await asyncio.to_thread(inbox.dead_letter, body, "body is not JSON")
            return JSONResponse({"error": "body is not JSON"}, status_code=400)
        events, reason = parse_events(parsed)
        if reason is not None:
            await asyncio.to_thread(inbox.dead_letter, body, reason)
            return JSONResponse({"error": reason}, status_code=422)
        await asyncio.to_thread(lambda: [inbox.accept(e) for e in events])
        return JSONResponse({"accepted": len(events)})

    async def health(request: Request) -> JSONResponse:
        ok = (inbox.root / "new").is_dir()
        return JSONResponse({"status": "ok" if ok else "inbox missing"}, status_code=200 if ok else 503)

    return Starlette(
        routes=[
            Route(WEBHOOK_PATH, receive, methods=["POST"]),
            Route(WEBHOOK_PATH + "/{secret}", receive, methods=["POST"]),
            Route("/health", health),
        ]
    )
