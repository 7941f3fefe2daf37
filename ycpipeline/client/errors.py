"""Typed YClients API errors whose messages tell the user what to do.

The hierarchy:

    YClientsError                  every error the client raises (`status`, `api_message`)
    ├── TokenRejectedError         401: the partner or user token was rejected
    ├── MissingRightsError         403: the user lacks rights in the company
    ├── LicenceRequiredError       402, or a 403 that names the licence: the company's licence has lapsed
    ├── NotFoundError              404
    │   ├── CompanyNotFoundError   the company itself ("Филиал не найден.", "Не указан филиал.")
    │   └── ObjectNotFoundError    a record, staff member or service the company does not have
    ├── ApiResponseError           the API answered, but not usably (`success: false`, not JSON)
    └── TransientApiError          429, 5xx, timeouts, broken transfers: retried; `retry_after`
        └── RateLimitedError       429: the API's window for our IP is full

Messages are built from the status, the API's own message and our guidance: never from request
headers, so a token cannot leak through an exception.
"""

from __future__ import annotations

# The company-level 404 messages of the official description (yclientsru.apib:2728, 2738, 15001, 15011).
COMPANY_NOT_FOUND_MESSAGES = ("Филиал не найден.", "Не указан филиал.")
# "Необходимо продлить лицензию в филиале с id: …" comes with 402 (yclientsru.apib:4675) and with 403
# (yclientsru.apib:2712): either way it is the licence, not the user's rights.
LICENCE_MARKER = "лиценз"


class YClientsError(RuntimeError):
    """Base class of every error raised by the YClients client."""

    def __init__(self, message: str, *, status: int | None = None, api_message: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.api_message = api_message


class TokenRejectedError(YClientsError):
    """HTTP 401: the partner or user token was rejected."""


class MissingRightsError(YClientsError):
    """HTTP 403: the token is valid but the user lacks rights in this company."""


class LicenceRequiredError(YClientsError):
    """HTTP 402 (or a 403 naming the licence): the company's YClients licence must be renewed."""


class NotFoundError(YClientsError):
    """HTTP 404: something the request named does not exist."""


class CompanyNotFoundError(NotFoundError):
    """HTTP 404 about the company itself: a wrong or unknown YCLIENTS_COMPANY_ID."""


class ObjectNotFoundError(NotFoundError):
    """HTTP 404 about one object (a record, staff member, service) of a company that exists."""


class ApiResponseError(YClientsError):
    """The API answered, but not with a usable body (`success: false`, non-JSON, truncated)."""


class TransientApiError(YClientsError):
    """429, 5xx, timeouts and connection errors: retried, raised only when the retries give up.

    `retry_after` holds the seconds the server asked us to wait (`Retry-After`), when it said.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        api_message: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, api_message=api_message)
        self.retry_after = retry_after


class RateLimitedError(TransientApiError):
    """HTTP 429: the API's per-IP window (5/s, 200/min) is full; waited for with patience."""


def _suffix(api_message: str | None) -> str:
    return f' The API said: "{api_message}".' if api_message else ""


def is_company_message(api_message: str | None) -> bool:
    """Whether the API's message is about the company itself rather than one of its objects."""
    return (api_message or "").strip() in COMPANY_NOT_FOUND_MESSAGES


def error_for_status(
    status: int,
    api_message: str | None,
    *,
    what: str,
    object_level: bool = False,
    retry_after: float | None = None,
) -> YClientsError:
    """Build the typed error for a non-2xx answer.

    `object_level` says the request named one object of a company (`GET /record/{c}/{id}`): its 404 is
    about that object unless the API's message names the company.
    """
    if status == 401:
        return TokenRejectedError(
            f"YClients rejected the token (HTTP 401) while reading {what}. Check YCLIENTS_API_TOKEN "
            "(partner) and YCLIENTS_USER_TOKEN in .env: copy them again without spaces or line breaks; "
            "the user token changes when the user changes the password (get a new one with POST /auth). "
            "Then re-run the failed partitions (backfill)." + _suffix(api_message),
            status=status,
            api_message=api_message,
        )
    if status == 402 or (status == 403 and LICENCE_MARKER in (api_message or "").lower()):
        return LicenceRequiredError(
            f"YClients refused {what} because the company's licence has lapsed (HTTP {status}). "
            "Renew the YClients licence of this company (the salon's administrator does it in YClients); "
            "no token or setting here can fix it. Then re-run the failed partitions." + _suffix(api_message),
            status=status,
            api_message=api_message,
        )
    if status == 403:
        return MissingRightsError(
            f"YClients refused access (HTTP 403) while reading {what}. The user behind "
            "YCLIENTS_USER_TOKEN needs rights to read, create and cancel records and to read services "
            "and staff in this company." + _suffix(api_message),
            status=status,
            api_message=api_message,
        )
    if status == 404:
        if object_level and not is_company_message(api_message):
            return ObjectNotFoundError(
                f"YClients has no {what} (HTTP 404): it was deleted or never existed in this company."
                + _suffix(api_message),
                status=status,
                api_message=api_message,
            )
        return CompanyNotFoundError(
            f"YClients does not know the company of {what} (HTTP 404). Check the company id "
            "(`ycpipeline companies list`; YCLIENTS_COMPANY_ID seeds it): it is the number in the YClients "
            "URL …/timetable/<company_id>; remove a wrong one with `ycpipeline companies remove ID`."
            + _suffix(api_message),
            status=status,
            api_message=api_message,
        )
    if status == 429:
        return RateLimitedError(
            f"YClients answered HTTP 429 (rate limit) while reading {what}." + _suffix(api_message),
            status=status,
            api_message=api_message,
            retry_after=retry_after,
        )
    if status >= 500:
        return TransientApiError(
            f"YClients answered HTTP {status} while reading {what}." + _suffix(api_message),
            status=status,
            api_message=api_message,
            retry_after=retry_after,
        )
    return ApiResponseError(
        f"YClients answered HTTP {status} while reading {what}." + _suffix(api_message),
        status=status,
        api_message=api_message,
    )
