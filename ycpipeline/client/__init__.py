"""YClients API client (httpx): auth, envelopes, paging, rate limits, retries, typed errors."""

from ycpipeline.client.errors import (
    ApiResponseError,
    CompanyNotFoundError,
    MissingRightsError,
    TokenRejectedError,
    TransientApiError,
    YClientsError,
)
from ycpipeline.client.http import RecordsPage, YClientsClient
from ycpipeline.client.ratelimit import RateLimiter

__all__ = [
    "ApiResponseError",
    "CompanyNotFoundError",
    "MissingRightsError",
    "RateLimiter",
    "RecordsPage",
    "TokenRejectedError",
    "TransientApiError",
    "YClientsClient",
    "YClientsError",
]
