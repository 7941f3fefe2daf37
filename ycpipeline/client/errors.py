"""Typed YClients API errors whose messages tell the user what to do.

Messages are built from the status, the API's own message and our guidance: never from request
headers, so a token cannot leak through an exception.
"""

from __future__ import annotations


class YClientsError(RuntimeError):
    """Base class of every error raised by the YClients client."""

    def __init__(self, message: str, *, status: int | None = None, api_message: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.api_message = api_message


class TokenRejectedError(YClientsError):
    """HTTP 401: the partner or user token was rejected."""


class MissingRightsError(YClientsError):
    """HTTP 403: the token is valid but lacks rights, or the licence has expired."""


class CompanyNotFoundError(YClientsError):
    """HTTP 404: unknown company (or object) id."""


class ApiResponseError(YClientsError):
    """The API answered, but not with a usable body (`success: false`, non-JSON, truncated)."""


class TransientApiError(YClientsError):
    """429, 5xx, timeouts and connection errors: retried, raised only when retries are exhausted."""


def _suffix(api_message: str | None) -> str:
    return f' The API said: "{api_message}".' if api_message else ""


def error_for_status(status: int, api_message: str | None, *, what: str) -> YClientsError:
    """Build the typed error for a non-2xx answer (or a 2xx with `success: false`)."""
    if status == 401:
        return TokenRejectedError(
            f"YClients rejected the token (HTTP 401) while reading {what}. Check YCLIENTS_API_TOKEN "
            "(partner) and YCLIENTS_USER_TOKEN in .env: copy them again without spaces or line breaks; "
            "the user token changes when the user changes the password (get a new one with POST /auth). "
            "Then re-run the failed partitions (backfill)." + _suffix(api_message),
            status=status,
            api_message=api_message,
        )
    if status == 403:
        return MissingRightsError(
            f"YClients refused access (HTTP 403) while reading {what}. The user behind "
            "YCLIENTS_USER_TOKEN needs rights to read, create and cancel records and to read services "
            "and staff in this company, and the company's licence must be active." + _suffix(api_message),
            status=status,
            api_message=api_message,
        )
    if status == 404:
        return CompanyNotFoundError(
            f"YClients does not know {what} (HTTP 404). Check YCLIENTS_COMPANY_ID: the company id is "
            "the number in the YClients URL …/timetable/<company_id>." + _suffix(api_message),
            status=status,
            api_message=api_message,
        )
    if status == 429 or status >= 500:
        return TransientApiError(
            f"YClients answered HTTP {status} while reading {what} and retries are exhausted; "
            "try again later." + _suffix(api_message),
            status=status,
            api_message=api_message,
        )
    return ApiResponseError(
        f"YClients answered HTTP {status} while reading {what}." + _suffix(api_message),
        status=status,
        api_message=api_message,
    )
