"""The YClients REST client: auth headers, envelopes, paging, rate limiting and retries."""

from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
from pydantic import SecretStr
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
)

from ycpipeline.client.errors import (
    ApiResponseError,
    CompanyNotFoundError,
    TransientApiError,
    error_for_status,
)
from ycpipeline.client.ratelimit import RateLimiter

log = logging.getLogger(__name__)

ACCEPT_V2 = "application/vnd.yclients.v2+json"
RETRY_AFTER_CAP_SECONDS = 60.0


@dataclass
class RecordsPage:
    """One page of `GET /records/{company_id}`."""

    number: int
    records: list[dict[str, Any]]
    total_count: int | None


@dataclass
class RequestStats:
    """Counters a run reports as metadata."""

    requests: int = 0
    retries: int = 0
    pages: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, *, requests: int = 0, retries: int = 0, pages: int = 0) -> None:
        with self._lock:
            self.requests += requests
            self.retries += retries
            self.pages += pages


def _api_message(body: Any) -> str | None:
    """The error text of either documented error shape."""
    if not isinstance(body, dict):
        return None
    if body.get("error_message"):
        return str(body["error_message"])
    meta = body.get("meta")
    if isinstance(meta, dict) and meta.get("message"):
        return str(meta["message"])
    return None


def _retry_after_seconds(response: httpx.Response | None) -> float | None:
    if response is None:
        return None
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return min(max(float(value), 0.0), RETRY_AFTER_CAP_SECONDS)
    except ValueError:
        return None  # an HTTP-date: fall back to our own backoff


class _RetryAfterError(TransientApiError):
    def __init__(self, base: TransientApiError, retry_after: float | None) -> None:
        super().__init__(str(base), status=base.status, api_message=base.api_message)
        self.retry_after = retry_after


class YClientsClient:
    """Synchronous YClients client, safe to share between threads.

    Retries 429/5xx/timeouts/connection errors and unreadable bodies with exponential backoff and
    jitter, honouring `Retry-After`, bounded by `max_attempts` and `max_retry_seconds`.
    """

    def __init__(
        self,
        base_url: str,
        partner_token: SecretStr,
        user_token: SecretStr | None = None,
        *,
        page_size: int = 200,
        limiter: RateLimiter | None = None,
        concurrency: int = 4,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        max_attempts: int = 6,
        max_retry_seconds: float = 120.0,
        backoff_base: float = 0.5,
    ) -> None:
        self.page_size = page_size
        self.concurrency = concurrency
        self.stats = RequestStats()
        self._limiter = limiter
        self._max_attempts = max_attempts
        self._max_retry_seconds = max_retry_seconds
        self._backoff_base = backoff_base
        auth = f"Bearer {partner_token.get_secret_value()}"
        if user_token is not None:
            auth += f", User {user_token.get_secret_value()}"
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            headers={"Accept": ACCEPT_V2, "Content-Type": "application/json", "Authorization": auth},
            timeout=timeout,
            transport=transport,
            limits=httpx.Limits(max_connections=max(concurrency, 1) + 2),
        )

    def __repr__(self) -> str:
        return f"YClientsClient(base_url={str(self._http.base_url)!r})"

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> YClientsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport --------------------------------------------------------------------------------

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _RetryAfterError) and exc.retry_after is not None:
            return exc.retry_after
        backoff = self._backoff_base * 2 ** (state.attempt_number - 1)
        return min(backoff, 30.0) * random.uniform(0.5, 1.5)

    def _send_once(self, path: str, params: dict[str, Any] | None, what: str) -> Any:
        if self._limiter is not None:
            self._limiter.acquire()
        self.stats.add(requests=1)
        try:
            response = self._http.get(path.lstrip("/"), params=params)
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            # httpx messages carry the URL at most, never headers; keep only the exception type.
            raise _RetryAfterError(
                TransientApiError(f"YClients did not answer while reading {what}: {type(exc).__name__}."),
                None,
            ) from None
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        status = response.status_code
        if status == 429 or status >= 500:
            err = error_for_status(status, _api_message(body), what=what)
            assert isinstance(err, TransientApiError)
            raise _RetryAfterError(err, _retry_after_seconds(response))
        if status >= 400:
            raise error_for_status(status, _api_message(body), what=what)
        if not isinstance(body, dict):
            # A truncated or non-JSON body on 2xx is a broken transfer: worth another try.
            raise _RetryAfterError(
                TransientApiError(f"YClients sent an unreadable body (HTTP {status}) while reading {what}."),
                None,
            )
        if body.get("success") is False or "error_code" in body:
            # `success: false` can come with HTTP 200: the envelope is the verdict.
            message = _api_message(body)
            raise ApiResponseError(
                f"YClients reported a failure while reading {what}: {message or 'no message'}. "
                "Check that the user behind YCLIENTS_USER_TOKEN has access to this company.",
                status=status,
                api_message=message,
            )
        return body

    def _before_retry(self, label: str, state: RetryCallState) -> None:
        self.stats.add(retries=1)
        error = state.outcome.exception() if state.outcome else None
        log.warning("retrying %s after attempt %d: %s", label, state.attempt_number, error)

    def get(
        self, path: str, params: dict[str, Any] | None = None, *, what: str | None = None
    ) -> dict[str, Any]:
        """GET `path` and return the parsed envelope, retrying transient failures."""
        label = what or path
        retrying = Retrying(
            retry=retry_if_exception_type(TransientApiError),
            wait=self._wait,
            stop=stop_after_attempt(self._max_attempts) | stop_after_delay(self._max_retry_seconds),
            reraise=True,
            before_sleep=lambda state: self._before_retry(label, state),
        )
        try:
            return retrying(self._send_once, path, params, label)
        except _RetryAfterError as exc:
            raise TransientApiError(str(exc), status=exc.status, api_message=exc.api_message) from None

    # -- endpoints --------------------------------------------------------------------------------

    def get_company(self, company_id: int) -> dict[str, Any]:
        """`GET /company/{id}`: title, time zone and the rest of the company object."""
        return self.get(f"company/{company_id}", what=f"company {company_id}")["data"]

    def list_services(self, company_id: int) -> list[dict[str, Any]]:
        """`GET /company/{id}/services`: the whole list in one response (not paged)."""
        self.stats.add(pages=1)
        return list(
            self.get(f"company/{company_id}/services", what=f"services of company {company_id}")["data"]
        )

    def list_staff(self, company_id: int) -> list[dict[str, Any]]:
        """`GET /company/{id}/staff`: the whole list in one response (not paged)."""
        self.stats.add(pages=1)
        return list(self.get(f"company/{company_id}/staff", what=f"staff of company {company_id}")["data"])

    def get_record(self, company_id: int, record_id: int) -> dict[str, Any] | None:
        """`GET /record/{company_id}/{record_id}`, or None when the API no longer knows it."""
        try:
            return self.get(f"record/{company_id}/{record_id}", what=f"record {record_id}")["data"]
        except CompanyNotFoundError:
            return None

    def _records_page(self, company_id: int, params: dict[str, Any], number: int) -> RecordsPage:
        body = self.get(
            f"records/{company_id}",
            {**params, "page": number, "count": self.page_size},
            what=f"records of company {company_id} (page {number})",
        )
        self.stats.add(pages=1)
        meta = body.get("meta")
        total = meta.get("total_count") if isinstance(meta, dict) else None
        data = body.get("data") or []
        if not isinstance(data, list):
            raise ApiResponseError(f"records page {number} of company {company_id} holds no list of records")
        return RecordsPage(number, data, int(total) if total is not None else None)

    def iter_record_pages(
        self,
        company_id: int,
        start_date: date,
        end_date: date,
        *,
        with_deleted: bool = True,
        extra_params: dict[str, Any] | None = None,
    ) -> Iterator[RecordsPage]:
        """Yield the pages of records whose visit date is in [start_date, end_date], in order.

        Page 1 tells `total_count`; the rest are fetched `concurrency` at a time (the rate limiter
        still governs the pace), at most `2 × concurrency` pages ahead of the consumer so memory stays
        bounded. Without `total_count` it pages until a short page.
        """
        params: dict[str, Any] = {
            "start_date": start_date.isoformat(),
            "end_date": end_date.isoformat(),
            **({"with_deleted": 1} if with_deleted else {}),
            **(extra_params or {}),
        }
        first = self._records_page(company_id, params, 1)
        yield first
        if first.total_count is None:
            number, last = 1, first
            while len(last.records) >= self.page_size:
                number += 1
                last = self._records_page(company_id, params, number)
                yield last
            return
        pages = max(1, -(-first.total_count // self.page_size))
        if pages == 1 or len(first.records) < self.page_size:
            return
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="yclients-page") as pool:
            pending: list[Future[RecordsPage]] = []
            next_number = 2
            ahead = 2 * self.concurrency
            try:
                while pending or next_number <= pages:
                    while next_number <= pages and len(pending) < ahead:
                        pending.append(pool.submit(self._records_page, company_id, params, next_number))
                        next_number += 1
                    yield pending.pop(0).result()
            finally:
                for fut in pending:
                    fut.cancel()
