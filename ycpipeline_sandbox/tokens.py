"""The sandbox's default credentials, and a YClients client that holds them."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from ycpipeline.client.http import YClientsClient

DEFAULT_PARTNER_TOKEN = "sandbox-partner-token-0123456789abcdef"
DEFAULT_USER_TOKEN = "sandbox-user-token-fedcba9876543210"
# What `POST /auth` accepts (the description's login is a phone `79161234567` or an e-mail).
DEFAULT_USER_LOGIN = "79161234567"
DEFAULT_USER_PASSWORD = "sandbox-password"


def sandbox_client(api_url: str, **options: Any) -> YClientsClient:
    """A YClients client holding the sandbox's default tokens (`options` as for `YClientsClient`)."""
    return YClientsClient(api_url, SecretStr(DEFAULT_PARTNER_TOKEN), SecretStr(DEFAULT_USER_TOKEN), **options)
