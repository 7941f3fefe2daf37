"""The webhook receiver: `POST /api/v1/yclients/webhook`, authenticated by a shared secret in the URL.

YClients only lets you register a URL, so the secret travels in the path
(`/api/v1/yclients/webhook/<secret>`) or the query (`?secret=<secret>`). Each accepted event is a row of
the queue `yclients.webhook_events`, committed before the answer (2xx): ids and times come from the
database, so any number of receivers may write to one queue, whatever their clocks. Bodies refused
whole (not JSON, too large, malformed) and events refused one by one (ids out of range) are kept in
`yclients.rejected_rows` (entity `webhook`) with the reason. `GET /metrics` serves the pipeline's
Prometheus metrics (ycpipeline.metrics).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Callable

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ycpipeline.metrics.collector import LastRuns, metrics_route
from ycpipeline.normalize.personal import scrub_text, without_personal
from ycpipeline.webhooks import queue
from ycpipeline.webhooks.events import ParsedBody, clean, parse_body

log = logging.getLogger(__name__)
WEBHOOK_PATH = "/api/v1/yclients/webhook"
DEFAULT_MAX_BODY = 1024 * 1024
DEAD_LETTER_HEAD = 4096  # bytes of a refused body kept with its reason
NOT_JSON = "body is not JSON"


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
            raise _TooLarge(b"".join(chunks)[:DEAD_LETTER_HEAD])
        chunks.append(chunk)
    return b"".join(chunks)


def _as_text(body: bytes) -> dict[str, str]:
    # Unparsed text cannot be cut like an object: the values of the deny-list's fields are masked.
    return {"unparsed": scrub_text(clean(body[:DEAD_LETTER_HEAD].decode("utf-8", "replace")))}


def create_receiver(
    warehouse: str | Engine,
    secret: str,
    *,
    max_body: int = DEFAULT_MAX_BODY,
    read_timeout: float = 10.0,
    last_runs: LastRuns | None = None,
) -> Starlette:
    """The receiver app writing into the queue of the warehouse at `warehouse`; `secret` must be non-empty.

    `last_runs` adds each job's latest success to `/metrics` (`ycpipeline.metrics.runs`)."""
    if not secret:
        raise ValueError("YCLIENTS_WEBHOOK_SECRET must be set to run the webhook receiver")
    engine = (
        create_engine(warehouse, pool_pre_ping=True, hide_parameters=True, pool_size=8)
        if isinstance(warehouse, str)
        else warehouse
    )
    expected = secret.encode()

    def authorised(request: Request) -> bool:
        given = request.path_params.get("secret") or request.query_params.get("secret") or ""
        return hmac.compare_digest(given.encode(), expected)

    def store(parsed: ParsedBody) -> None:
        with engine.begin() as conn:
            queue.enqueue(conn, parsed)

    def refuse(reason: str, raw: object) -> None:
        with engine.begin() as conn:
            queue.dead_letter(conn, reason, raw)

    async def write(action: Callable[..., None], *args: object) -> JSONResponse | None:
        try:
            await asyncio.to_thread(action, *args)
        except SQLAlchemyError as exc:
            # The sender is told to try again; nothing was written (one transaction per request).
            log.error("webhook queue unavailable: %s", type(exc).__name__)
            return JSONResponse({"error": "queue unavailable, try again"}, status_code=503)
        return None

    async def receive(request: Request) -> JSONResponse:
        if not authorised(request):
            return JSONResponse({"error": "unauthorised"}, status_code=401)
        try:
            body = await asyncio.wait_for(_read_body(request, max_body), timeout=read_timeout)
        except _TooLarge as exc:
            reason = f"body larger than {max_body} bytes"
            return await write(refuse, reason, _as_text(exc.head)) or JSONResponse(
                {"error": reason}, status_code=413
            )
        except TimeoutError:
            return JSONResponse({"error": "request body too slow"}, status_code=408)
        except ClientDisconnect:
            return JSONResponse({"error": "client went away"}, status_code=400)
        try:
            document = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
            return await write(refuse, NOT_JSON, _as_text(body)) or JSONResponse(
                {"error": NOT_JSON}, status_code=400
            )
        parsed, problem = parse_body(document)
        if parsed is None:
            problem = problem or "malformed events"
            kept = without_personal(clean(document))
            raw = (
                kept
                if len(body) <= DEAD_LETTER_HEAD
                else _as_text(json.dumps(kept, ensure_ascii=False).encode())
            )
            return await write(refuse, problem, raw) or JSONResponse({"error": problem}, status_code=422)
        return await write(store, parsed) or JSONResponse(
            {"accepted": len(parsed.accepted), "rejected": len(parsed.refused)}
        )

    async def health(request: Request) -> JSONResponse:
        def ping() -> None:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1 FROM yclients.webhook_events LIMIT 1"))

        failed = await write(ping)
        return failed or JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route(WEBHOOK_PATH, receive, methods=["POST"]),
            Route(WEBHOOK_PATH + "/{secret}", receive, methods=["POST"]),
            Route("/health", health),
            metrics_route(engine, last_runs),
        ]
    )
