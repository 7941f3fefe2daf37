"""The YClients REST client: auth headers, envelopes, paging, the API budget and retries."""

from __future__ import annotations

import json
import logging
import math
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
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
from ycpipeline.client.paging import Listing, Page, Pager, RecordFilters, RecordsPage
from ycpipeline.client.retrying import call_with_retries
from ycpipeline.normalize.values import to_int

log = logging.getLogger(__name__)

ACCEPT_V2 = "application/vnd.yclients.v2+json"
RETRY_AFTER_CAP_SECONDS = 600.0
# A list answered `success: false` + "Не найдено" means "nothing matches": the description answers an
# empty search that way (yclientsru.apib:13025, 14991). The same words with `meta.errors` mean a bad
# parameter (yclientsru.apib:4702: a company id that is not a number), so those stay errors.
# Uncertain: the description never shows it for /records or the catalogue; we accept it on every list.
EMPTY_LIST_MESSAGE = "не найдено"
CLIENTS_PAGE_MAX = 200  # "Максимум 200" (yclientsru.apib:203)
# The clients search's fields a snapshot keeps (yclientsru.apib:208-218).
CLIENT_FIELDS = (
    "id",
    "name",
    "phone",
    "email",
    "discount",
    "first_visit_date",
    "last_visit_date",
    "sold_amount",
    "visits_count",
)

__all__ = ["ACCEPT_V2", "RecordsPage", "RequestStats", "YClientsClient"]


@dataclass
class RequestStats:
    """Counters a run reports as metadata."""

    requests: int = 0
    retries: int = 0
    pages: int = 0
    rate_limited: int = 0
    # For the metrics (client.usage): answers by HTTP status (`timeout` when none came), and the
    # seconds every process was asked to hold off after 429s.
    by_status: Counter[str] = field(default_factory=Counter)
    hold_off_seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, *, requests: int = 0, retries: int = 0, pages: int = 0, rate_limited: int = 0) -> None:
        with self._lock:
            self.requests += requests
            self.retries += retries
            self.pages += pages
            self.rate_limited += rate_limited

    def answered(self, status: str) -> None:
        """Count one answer (or `timeout`) by status."""
        with self._lock:
            self.by_status[status] += 1

    def held_off(self, seconds: float) -> None:
        """Count a hold-off asked of the shared budget."""
        with self._lock:
            self.hold_off_seconds += seconds


class _CountedBudget:
    """The budget as the retries see it: the same budget, with its hold-offs counted for the metrics."""

    def __init__(self, budget: ApiBudget, stats: RequestStats) -> None:
        self._budget = budget
        self._stats = stats

    def acquire(self) -> None:
        self._budget.acquire()

    def hold_off(self, seconds: float) -> None:
        self._stats.held_off(seconds)
        self._budget.hold_off(seconds)


_DEFAULT_PORTS = {"https": 443, "http": 80}


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
        self._retry_budget = _CountedBudget(budget, self.stats) if budget is not None else None
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
        self,
        path: str,
        params: dict[str, Any] | None,
        what: str,
        *,
        object_level: bool,
        is_list: bool,
        json_body: Any = None,
    ) -> dict[str, Any]:
        if self.budget is not None:
            self.budget.acquire()
        self.stats.add(requests=1)
        method = "GET" if json_body is None else "POST"
        try:
            response = self._http.request(method, path.lstrip("/"), params=params, json=json_body)
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            self.stats.answered("timeout" if isinstance(exc, httpx.TimeoutException) else "transport_error")
            # httpx messages carry the URL at most, never headers; keep the exception type and the
            # address asked (host and port: no path, query or credentials), which is what the user checks.
            url = self._http.base_url
            raise TransientApiError(
                f"YClients at {url.host}:{url.port or _DEFAULT_PORTS.get(url.scheme, '')} did not answer "
                f"while reading {what}: {type(exc).__name__}. Check YCLIENTS_API_URL and the network."
            ) from None
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        status = response.status_code
        self.stats.answered(str(status))
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
            budget=self._retry_budget,
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

    def _whole(self, path: str, what: str) -> Listing:
        """A listing the API sends whole in one response (not paged), judged by its `total_count`."""
        return self._one_page(self.get(path, what=what, is_list=True), what)

    def _one_page(self, body: dict[str, Any], what: str) -> Listing:
        page = self._page(body, 1, what)
        pager = Pager(max(len(page.items), 1))
        pager.whole(page)
        return Listing(iter([page]), pager)

    def services_listing(self, company_id: int) -> Listing:
        """`GET /company/{id}/services`: the whole list in one response (not paged)."""
        return self._whole(f"company/{company_id}/services", f"services of company {company_id}")

    def staff_listing(self, company_id: int) -> Listing:
        """`GET /company/{id}/staff`: the whole list in one response (not paged)."""
        return self._whole(f"company/{company_id}/staff", f"staff of company {company_id}")

    def list_services(self, company_id: int) -> list[dict[str, Any]]:
        """The services of `services_listing`."""
        return [item for page in self.services_listing(company_id) for item in page.items]

    def list_staff(self, company_id: int) -> list[dict[str, Any]]:
        """The staff of `staff_listing`."""
        return [item for page in self.staff_listing(company_id) for item in page.items]

    def get_record(
        self, company_id: int, record_id: int, *, include_finance_transactions: bool = False
    ) -> Any:
        """`GET /record/{company_id}/{record_id}`: the answer's `data` as sent, or None when the record is
        gone (deleted). Callers check that the answer is the record asked for (`sync.reread`): an answer
        that is no object, or another record, must not read as "gone".

        None only for a record-level 404 while the company itself still answers (`GET /company/{id}`,
        once per client): a company that is unknown, unlicensed or closed to us raises its own error,
        so a whole window of records is never marked deleted because of the company.
        """
        try:
            data = self.get(
                f"record/{company_id}/{record_id}",
                # The record's payments ride along when asked for (yclientsru.apib:5963-5969).
                {"include_finance_transactions": 1} if include_finance_transactions else None,
                what=f"record {record_id} of company {company_id}",
                object_level=True,
            )["data"]
        except ObjectNotFoundError:
            self._confirm_company(company_id)
            return None
        return data

    def _page(self, body: dict[str, Any], number: int, what: str) -> Page:
        """One page of a listing from its envelope (`meta.total_count` when readable)."""
        self.stats.add(pages=1)
        meta = body.get("meta")
        data = body.get("data") or []
        if not isinstance(data, list):
            raise ApiResponseError(f"{what} (page {number}): the answer holds no list")
        # An unreadable total counts as none: paged until a short page.
        total = to_int(meta.get("total_count")) if isinstance(meta, dict) else None
        return Page(number, data, total)

    def _listing(self, fetch: Callable[[int], Page], requested_size: int, what: str) -> Listing:
        """The pages of one listing read through one `Pager` (see `client.paging`)."""
        pager = Pager(requested_size)
        return Listing(self._paginate(fetch, pager, what), pager)

    def _paginate(self, fetch: Callable[[int], Page], pager: Pager, what: str) -> Iterator[Page]:
        """Page 1 tells `total_count` and the server's real page size; the rest are fetched
        `concurrency` at a time (the budget still governs the pace), at most `2 × concurrency` pages
        ahead of the consumer so memory stays bounded. Without `total_count`, one by one."""
        first = fetch(1)
        yield first
        planned = pager.plan(first)
        if planned is None:
            number = pager.next_page(first)
            while number is not None:
                page = fetch(number)
                yield page
                number = pager.next_page(page)
            return
        if not planned:
            return
        numbers = iter(planned)
        if pager.adapted:
            probe = fetch(next(numbers))
            if not pager.accept(probe):
                log.info("%s: %s", what, pager.stopped_early)
                return
            yield probe
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="yclients-page") as pool:
            pending: list[Future[Page]] = []
            ahead = 2 * self.concurrency
            try:
                while True:
                    while len(pending) < ahead and (number := next(numbers, None)) is not None:
                        pending.append(pool.submit(fetch, number))
                    if not pending:
                        return
                    page = pending.pop(0).result()
                    if not pager.accept(page):
                        log.info("%s: %s; stopped paging", what, pager.stopped_early)
                        return
                    yield page
            finally:
                for fut in pending:
                    fut.cancel()

    def iter_record_pages(self, company_id: int, filters: RecordFilters) -> Listing:
        """The pages of the records matching `filters`, in order (`GET /records/{id}`, `page` and `count`)."""
        query = filters.query()
        what = f"records of company {company_id} ({filters.describe()})"

        def fetch(number: int) -> Page:
            body = self.get(
                f"records/{company_id}",
                {**query, "page": number, "count": self.page_size},
                what=f"{what} (page {number})",
                is_list=True,
            )
            return self._page(body, number, what)

        return self._listing(fetch, self.page_size, what)

    # -- streams beside the records ---------------------------------------------------------------------

    def post(
        self, path: str, body: dict[str, Any], *, what: str | None = None, is_list: bool = False
    ) -> dict[str, Any]:
        """POST `body` as JSON to a read endpoint (the clients search) and return the envelope, retrying
        transient failures like `get` (the search changes nothing, so a repeat is harmless)."""
        label = what or path
        return call_with_retries(
            lambda: self._send_once(path, None, label, object_level=False, is_list=is_list, json_body=body),
            what=label,
            policy=self.retry_policy,
            budget=self._retry_budget,
            on_retry=lambda: self.stats.add(retries=1),
        )

    def service_categories_listing(self, company_id: int) -> Listing:
        """`GET /company/{id}/service_categories` (yclientsru.apib:2667): the whole list, not paged."""
        return self._whole(
            f"company/{company_id}/service_categories", f"service categories of company {company_id}"
        )

    def accounts_listing(self, company_id: int) -> Listing:
        """`GET /accounts/{id}` (yclientsru.apib:9369): the company's cash desks and accounts, not paged."""
        return self._whole(f"accounts/{company_id}", f"accounts of company {company_id}")

    def iter_transactions(self, company_id: int, start: date, end: date) -> Listing:
        """Pages of `GET /transactions/{id}?start_date&end_date` (yclientsru.apib:12390-12440): the cash
        ledger of those dates, `page` from 1 and `count` per page (its real maximum is undocumented)."""
        query = {"start_date": start.isoformat(), "end_date": end.isoformat(), "count": self.page_size}
        what = f"transactions of company {company_id} ({start}..{end})"

        def fetch(number: int) -> Page:
            body = self.get(f"transactions/{company_id}", {**query, "page": number}, what=what, is_list=True)
            return self._page(body, number, what)

        return self._listing(fetch, self.page_size, what)

    def goods_transactions_listing(
        self,
        company_id: int,
        *,
        changed_after: datetime | None = None,
        start: date | None = None,
        end: date | None = None,
    ) -> Listing:
        """Pages of `GET /storages/transactions/{id}` (yclientsru.apib:16054-16128): goods sold, used and
        received, those changed or created since `changed_after` and/or created on [start, end].

        UNCERTAIN: the example answers `"meta": []` (no `total_count`), so paging runs until a short page;
        the page size's maximum and the zone of `changed_after` (sent without offset) are undocumented.
        """
        query: dict[str, Any] = {"count": self.page_size}
        if changed_after is not None:
            query["changed_after"] = changed_after.isoformat(timespec="seconds")
        if start is not None and end is not None:
            query |= {"start_date": start.isoformat(), "end_date": end.isoformat()}
        what = f"goods transactions of company {company_id}"

        def fetch(number: int) -> Page:
            body = self.get(
                f"storages/transactions/{company_id}", {**query, "page": number}, what=what, is_list=True
            )
            return self._page(body, number, what)

        return self._listing(fetch, self.page_size, what)

    def iter_clients(self, company_id: int, *, client_ids: Sequence[int] | None = None) -> Listing:
        """Pages of `POST /company/{id}/clients/search` (yclientsru.apib:4504-4640): every client, or those of
        `client_ids` (the `id` filter), with the fields a snapshot keeps (:208-218), by id; at most 200 a
        page (:203), fewer when the server caps lower."""
        size = min(self.page_size, CLIENTS_PAGE_MAX)
        body: dict[str, Any] = {
            "page_size": size,
            "fields": list(CLIENT_FIELDS),
            "order_by": "id",
            "order_by_direction": "ASC",
        }
        if client_ids is not None:
            body["filters"] = [{"type": "id", "state": {"value": sorted(set(client_ids))}}]
        what = f"clients of company {company_id}"
        path = f"company/{company_id}/clients/search"

        def fetch(number: int) -> Page:
            return self._page(
                self.post(path, {**body, "page": number}, what=what, is_list=True), number, what
            )

        return self._listing(fetch, size, what)

    def company_schedules_listing(self, company_id: int, start: date, end: date) -> Listing:
        """Every staff member's working intervals and busy intervals over [start, end] in one request:
        `GET /company/{id}/staff/schedule?start_date&end_date&include[]=busy_intervals`.

        UNCERTAIN: not in the official description (yclientsru.apib has only the per-staff schedule, :7419);
        documented for the same API under its international brand (docs/marts.md). A `NotFoundError` means
        the endpoint is not there: the caller reads the schedules per staff member instead.
        """
        what = f"staff schedules of company {company_id}"
        # Not read as a list: a 404 "Не найдено" here means the endpoint is missing, not an empty list.
        body = self.get(
            f"company/{company_id}/staff/schedule",
            {"start_date": start.isoformat(), "end_date": end.isoformat(), "include[]": "busy_intervals"},
            what=what,
        )
        if body.get("data") in (None, {}):
            body = {**body, "data": []}
        return self._one_page(body, what)

    def staff_schedule_listing(self, company_id: int, staff_id: int, start: date, end: date) -> Listing:
        """`GET /schedule/{id}/{staff_id}/{start}/{end}` (yclientsru.apib:7477-7548): one staff member's days."""
        return self._whole(
            f"schedule/{company_id}/{staff_id}/{start.isoformat()}/{end.isoformat()}",
            f"schedule of staff {staff_id} of company {company_id}",
        )
