"""YClients API client (httpx): auth, envelopes, paging, the shared API budget, retries, typed errors."""

from ycpipeline.client.budget import ApiBudget, PostgresBudget, budget_key, open_budget
from ycpipeline.client.errors import (
    ApiResponseError,
    CompanyNotFoundError,
    LicenceRequiredError,
    MissingRightsError,
    NotFoundError,
    ObjectNotFoundError,
    RateLimitedError,
    TokenRejectedError,
    TransientApiError,
    YClientsError,
)
from ycpipeline.client.http import YClientsClient
from ycpipeline.client.options import ClientOptions
from ycpipeline.client.paging import Listing, Page, Pager, RecordFilters, RecordsPage
from ycpipeline.client.ratelimit import RateLimiter
from ycpipeline.client.retrying import RetryPolicy

__all__ = [
    "ApiBudget",
    "ApiResponseError",
    "ClientOptions",
    "CompanyNotFoundError",
    "LicenceRequiredError",
    "Listing",
    "MissingRightsError",
    "NotFoundError",
    "ObjectNotFoundError",
    "Page",
    "Pager",
    "PostgresBudget",
    "RateLimitedError",
    "RateLimiter",
    "RecordFilters",
    "RecordsPage",
    "RetryPolicy",
    "TokenRejectedError",
    "TransientApiError",
    "YClientsClient",
    "YClientsError",
    "budget_key",
    "open_budget",
]
