"""Client options for tests: the settings' own, with the changes a test asks for (no Dagster import,
so worker processes start as fast as the client they run)."""

from __future__ import annotations

from typing import Any

from ycpipeline.client import ClientOptions
from ycpipeline.settings import Settings


def client_options(**changes: Any) -> ClientOptions:
    """The settings' client options (environment only, no `.env`), with the changes a test asks for."""
    return Settings(_env_file=None).client_options().adjusted(**changes)
