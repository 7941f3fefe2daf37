"""Fault injection for the sandbox: scripted failures for the next matching requests."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

FaultKind = Literal[
    "status",  # answer with `status` (e.g. 500, 502, 503, 504, 429) and an error envelope
    "timeout",  # hold the request for `delay` seconds before answering normally
    "truncate",  # declare a longer body than is sent, then close: the client sees a broken transfer
    "non_json",  # 200 with an HTML body
    "success_false",  # 200 with `success: false`
    "empty_page",  # 200 with an empty `data` list but the real `meta`
    "insert_during_paging",  # book a new record in the queried window before answering
    "reschedule_during_paging",  # move record `record_id` to `moved_to` before answering
]


@dataclass
class Fault:
    """Apply `kind` to the next `times` requests whose path contains `path` (and page, when given).

    With `seconds`, apply it instead to every matching request for that long after the first one.
    """

    kind: FaultKind
    times: int = 1
    path: str = ""
    page: int | None = None
    status: int = 500
    delay: float = 0.0
    retry_after: float | None = None
    seconds: float | None = None
    started: float | None = None
    # For "reschedule_during_paging": the record moved and its new start (a record on a page already
    # served moved to a later time shifts every later record one place forward).
    record_id: int | None = None
    moved_to: datetime | None = None


class FaultPlan:
    """A queue of faults consumed by incoming requests, safe across threads."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self.injected = 0

    def add(self, *faults: Fault) -> None:
        """Schedule faults, applied in order of addition."""
        with self._lock:
            self._faults.extend(faults)

    def clear(self) -> None:
        """Drop every pending fault."""
        with self._lock:
            self._faults.clear()

    def take(self, path: str, page: int | None) -> Fault | None:
        """The fault for this request, if any, counting it as used."""
        with self._lock:
            for fault in list(self._faults):
                if fault.path in path and (fault.page is None or fault.page == page):
                    if fault.seconds is not None:
                        fault.started = fault.started or time.monotonic()
                        if time.monotonic() - fault.started > fault.seconds:
                            self._faults.remove(fault)
                            continue
                    else:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    self.injected += 1
                    return fault
        return None


class TruncatedResponse(Response):
    """Declares a body longer than it sends, so the client sees the connection break mid-body."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"success": true, "data": [', "more_body": False})
