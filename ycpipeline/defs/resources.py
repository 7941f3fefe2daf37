"""Resources: the YClients API and the warehouse, configured from the environment via `EnvVar`."""

from decimal import Decimal
from functools import cache

import dagster as dg
from pydantic import PrivateAttr, SecretStr
from sqlalchemy import Engine, create_engine

from ycpipeline.client import ApiBudget, PostgresBudget, RateLimiter, YClientsClient, budget_key
from ycpipeline.settings import DEFAULT_API_URL, load_settings, parse_company_ids


@cache
def _engine(url: str) -> Engine:
    # One pool per process and URL: resources are rebuilt per run, engines need not be.
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


class YClientsResource(dg.ConfigurableResource):
    """The YClients REST API (or the sandbox) for the configured company or chain."""

    api_url: str = DEFAULT_API_URL
    partner_token: str
    user_token: str | None = None
    company_ids: str
    booking_form_url: str | None = None
    service_link_template: str = "{form}/company/{company_id}/personal/select-services?o=s{service_id}"
    staff_link_template: str = "{form}/company/{company_id}/personal/select-master?o=m{staff_id}"
    page_size: int = 200
    rate_limit_per_second: float = 5.0
    rate_limit_per_minute: float = 200.0
    rate_limit_patience_seconds: float = 300.0
    rate_limit_key: str | None = None
    # The warehouse that holds the API budget shared by every run, step and sensor tick.
    budget_url: str | None = None
    concurrency: int = 4

    _client: YClientsClient | None = PrivateAttr(default=None)

    def companies(self) -> list[int]:
        """The configured company ids."""
        return parse_company_ids(self.company_ids)

    def budget(self) -> ApiBudget:
        """The deployment's shared API budget (process-local only when no warehouse is configured)."""
        if self.budget_url is None:
            return RateLimiter(self.rate_limit_per_second, self.rate_limit_per_minute)
        return PostgresBudget(
            _engine(self.budget_url),
            self.rate_limit_key or budget_key(self.api_url),
            self.rate_limit_per_second,
            self.rate_limit_per_minute,
        )

    def client(self) -> YClientsClient:
        """A client for this run's steps, drawing on the budget every process of the deployment shares."""
        if self._client is None:
            self._client = YClientsClient(
                self.api_url,
                SecretStr(self.partner_token),
                SecretStr(self.user_token) if self.user_token else None,
                page_size=self.page_size,
                budget=self.budget(),
                concurrency=self.concurrency,
                rate_limit_patience=self.rate_limit_patience_seconds,
            )
        return self._client

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._client is not None:
            self._client.close()


class WarehouseResource(dg.ConfigurableResource):
    """The Postgres warehouse."""

    url: str
    bonus_rate: str = "0.05"

    def engine(self) -> Engine:
        """The process-wide SQLAlchemy engine for this warehouse."""
        return _engine(self.url)

    def rate(self) -> Decimal:
        """The bonus rate for first accruals."""
        return Decimal(self.bonus_rate)


def _secret(name: str, present: bool) -> dg.EnvVar | None:
    return dg.EnvVar(name) if present else None


@dg.definitions
def defs() -> dg.Definitions:
    """Secrets and URLs are `EnvVar`s, read at launch and never shown in the UI; tunables come from settings."""
    settings = load_settings()
    return dg.Definitions(
        resources={
            "yclients": YClientsResource(
                api_url=settings.yclients_api_url,
                partner_token=dg.EnvVar("YCLIENTS_API_TOKEN"),
                user_token=_secret("YCLIENTS_USER_TOKEN", settings.yclients_user_token is not None),
                company_ids=dg.EnvVar("YCLIENTS_COMPANY_ID"),
                booking_form_url=settings.yclients_booking_form_url,
                service_link_template=settings.yclients_service_link_template,
                staff_link_template=settings.yclients_staff_link_template,
                page_size=settings.yclients_page_size,
                rate_limit_per_second=settings.yclients_rate_limit_per_second,
                rate_limit_per_minute=settings.yclients_rate_limit_per_minute,
                rate_limit_patience_seconds=settings.yclients_rate_limit_patience_seconds,
                rate_limit_key=settings.yclients_rate_limit_key,
                budget_url=_secret("WAREHOUSE_URL", settings.warehouse_url is not None),
                concurrency=settings.yclients_concurrency,
            ),
            "warehouse": WarehouseResource(
                url=dg.EnvVar("WAREHOUSE_URL"), bonus_rate=str(settings.bonus_rate)
            ),
        }
    )
