"""The YClients REST client: auth headers, envelopes, paging, the API budget and retries."""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import SecretStr

from ycpipeline.client.budget import ApiBudget
from ycpipeline.client.errors import (
    ApiResponseError,
    ObjectNotFoundError,
    RateLimitedError,
    TransientApiError,
    error_for_status,
)
from ycpipeline.client.options import ClientOptions
from ycpipeline.client.paging import RecordFilters, RecordsPage, RecordsPager
from ycpipeline.client.retrying import call_with_retries

log = logging.getLogger(__name__)

ACCEPT_V2 = "application/vnd.yclients.v2+json"
RETRY_AFTER_CAP_SECONDS = 600.0
# A list answered `success: false` + "Не найдено" means "nothing matches": the description answers an
# empty search that way (yclientsru.apib:13025, 14991). The same words with `meta.errors` mean a bad
# parameter (yclientsru.apib:4702: a company id that is not a number), so those stay errors.
# Uncertain: the description never shows it for /records or the catalogue; we accept it on every list.
EMPTY_LIST_MESSAGE = "не найдено"

__all__ = ["ACCEPT_V2", "RecordsPage", "RequestStats", "YClientsClient"]


@dataclass
class RequestStats:
    """Counters a run reports as metadata."""

    requests: int = 0
    retries: int = 0
    pages: int = 0
    rate_limited: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, *, requests: int = 0, retries: int = 0, pages: int = 0, rate_limited: int = 0) -> None:
        with self._lock:
            self.requests += requests
            self.retries += retries
            self.pages += pages
            self.rate_limited += rate_limited


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


def _means_empty_list(body: Any) -> bool:
    if not isinstance(body, dict) or body.get("success") is not False:
        return False
    meta = body.get("meta")
    if not isinstance(meta, dict) or meta.get("errors"):
        return False
    return str(meta.get("message", "")).strip().rstrip(".").casefold() == EMPTY_LIST_MESSAGE


def _retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP-date: fall back to our own backoff
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), RETRY_AFTER_CAP_SECONDS)


class YClientsClient:
    """Synchronous YClients client, safe to share between threads.

    Every request waits for the API budget first (`budget`: shared through the warehouse, or
    process-local). 429s are waited for patiently; 5xx, timeouts, broken transfers and unreadable
    bodies are retried with backoff and jitter, honouring `Retry-After` (see `client.retrying`).
    `options` come from the settings (`Settings.client_options()`): the client restates no default.
    """

    def __init__(
        self,
        base_url: str,
        partner_token: SecretStr,
        user_token: SecretStr | None = None,
        *,
        options: ClientOptions,
        budget: ApiBudget | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.page_size = options.page_size
        self.concurrency = options.concurrency
        self.stats = RequestStats()
        self.budget = budget
        self.retry_policy = options.retry
        self._companies_answering: set[int] = set()
        self._companies_lock = threading.Lock()
        auth = f"Bearer {partner_token.get_secret_value()}"
        if user_token is not None:
            auth += f", User {user_token.get_secret_value()}"
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            headers={"Accept": ACCEPT_V2, "Content-Type": "application/json", "Authorization": auth},
            timeout=options.timeout,
            transport=transport,
            limits=httpx.Limits(max_connections=max(options.concurrency, 1) + 2),
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

    def _send_once(
        self, path: str, params: dict[str, Any] | None, what: str, *, object_level: bool, is_list: bool
    ) -> dict[str, Any]:
        if self.budget is not None:
            self.budget.acquire()
        self.stats.add(requests=1)
        try:
            response = self._http.get(path.lstrip("/"), params=params)
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            # httpx messages carry the URL at most, never headers; keep only the exception type.
            raise TransientApiError(
                f"YClients did not answer while reading {what}: {type(exc).__name__}."
            ) from None
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        status = response.status_code
        if is_list and status in (200, 404) and _means_empty_list(body):
            return {"success": True, "data": [], "meta": {"total_count": 0}}
        if status >= 400:
            error = error_for_status(
                status,
                _api_message(body),
                what=what,
                object_level=object_level,
                retry_after=_retry_after_seconds(response),
            )
            if isinstance(error, RateLimitedError):
                self.stats.add(rate_limited=1)
            raise error
        if not isinstance(body, dict):
            # A truncated or non-JSON body on 2xx is a broken transfer: worth another try.
            raise TransientApiError(f"YClients sent an unreadable body (HTTP {status}) while reading {what}.")
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

    def get(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        what: str | None = None,
        object_level: bool = False,
        is_list: bool = False,
    ) -> dict[str, Any]:
        """GET `path` and return the parsed envelope, retrying transient failures.

        `object_level`: the path names one object of a company (its 404 is about that object unless
        the API names the company). `is_list`: a collection, where "Не найдено" means empty.
        """
        label = what or path
        return call_with_retries(
            lambda: self._send_once(path, params, label, object_level=object_level, is_list=is_list),
            what=label,
            policy=self.retry_policy,
            budget=self.budget,
            on_retry=lambda: self.stats.add(retries=1),
        )

    # -- endpoints --------------------------------------------------------------------------------

    def get_company(self, company_id: int) -> dict[str, Any]:
        """`GET /company/{id}`: title, time zone and the rest of the company object."""
        data = self.get(f"company/{company_id}", what=f"company {company_id}")["data"]
        with self._companies_lock:
            self._companies_answering.add(company_id)
        return data if isinstance(data, dict) else {}

    def _confirm_company(self, company_id: int) -> None:
        """Raise the company's own error unless it answers (asked once per client)."""
        with self._companies_lock:
            if company_id in self._companies_answering:
                return
        self.get_company(company_id)

    def list_services(self, company_id: int) -> list[dict[str, Any]]:
        """`GET /company/{id}/services`: the whole list in one response (not paged)."""
        self.stats.add(pages=1)
        body = self.get(
            f"company/{company_id}/services", what=f"services of company {company_id}", is_list=True
        )
        return list(body.get("data") or [])

    def list_staff(self, company_id: int) -> list[dict[str, Any]]:
        """`GET /company/{id}/staff`: the whole list in one response (not paged)."""
        self.stats.add(pages=1)
        body = self.get(f"company/{company_id}/staff", what=f"staff of company {company_id}", is_list=True)
        return list(body.get("data") or [])

    def get_record(self, company_id: int, record_id: int) -> dict[str, Any] | None:
        """`GET /record/{company_id}/{record_id}`, or None when the record is gone (deleted).

        None only for a record-level 404 while the company itself still answers (`GET /company/{id}`,
        once per client): a company that is unknown, unlicensed or closed to us raises its own error,
        so a whole window of records is never marked deleted because of the company.
        """
        try:
            data = self.get(
                f"record/{company_id}/{record_id}",
                what=f"record {record_id} of company {company_id}",
                object_level=True,
            )["data"]
        except ObjectNotFoundError:
            self._confirm_company(company_id)
            return None
        return data if isinstance(data, dict) else None

    def _records_page(self, company_id: int, query: dict[str, Any], number: int) -> RecordsPage:
        body = self.get(
            f"records/{company_id}",
            {**query, "page": number, "count": self.page_size},
            what=f"records of company {company_id} (page {number})",
            is_list=True,
        )
        self.stats.add(pages=1)
        meta = body.get("meta")
        total = meta.get("total_count") if isinstance(meta, dict) else None
        data = body.get("data") or []
        if not isinstance(data, list):
            raise ApiResponseError(f"records page {number} of company {company_id} holds no list of records")
        try:
            total_count = int(total) if total is not None else None
        except (TypeError, ValueError):
            total_count = None  # an unreadable total: page until a short page
        return RecordsPage(number, data, total_count)

    def iter_record_pages(self, company_id: int, filters: RecordFilters) -> Iterator[RecordsPage]:
        """Yield the pages of the records matching `filters`, in order.

        Page 1 tells `total_count` and the server's real page size (`RecordsPager`); the rest are
        fetched `concurrency` at a time (the budget still governs the pace), at most `2 × concurrency`
        pages ahead of the consumer so memory stays bounded. Without `total_count` it pages until a
        short page.
        """
        query = filters.query()
        pager = RecordsPager(self.page_size)
        first = self._records_page(company_id, query, 1)
        yield first
        planned = pager.plan(first)
        if planned is None:
            number = pager.next_page(first)
            while number is not None:
                page = self._records_page(company_id, query, number)
                yield page
                number = pager.next_page(page)
            return
        if not planned:
            return
        numbers = iter(planned)
        if pager.adapted:
            probe = self._records_page(company_id, query, next(numbers))
            if not pager.accept(probe):
                log.info(
                    "records of company %s (%s): %s", company_id, filters.describe(), pager.stopped_early
                )
                return
            yield probe
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="yclients-page") as pool:
            pending: list[Future[RecordsPage]] = []
            ahead = 2 * self.concurrency
            try:
                while True:
                    while len(pending) < ahead and (number := next(numbers, None)) is not None:
                        pending.append(pool.submit(self._records_page, company_id, query, number))
                    if not pending:
                        return
                    page = pending.pop(0).result()
                    if not pager.accept(page):
                        log.info(
                            "records of company %s (%s): %s; stopped paging",
                            company_id,
                            filters.describe(),
                            pager.stopped_early,
                        )
                        return
                    yield page
            finally:
                for fut in pending:
                    fut.cancel()
