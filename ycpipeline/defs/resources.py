"""Resources: the YClients API and the warehouse, configured from the settings, and the one wiring block
of every resource the settings configure (`freshness` aside, wired in `defs/automation/resources.py`).

The settings own every default; `defs()` builds the resources from them, so a field here never restates
one, and the marts', loyalty's and streams' resources carry settings under their own names, their policy
objects built by the settings' methods. Secrets and the warehouse URL are `EnvVar`s (read at launch, never shown in the UI) when they are
set; when they are not, the field is None and the code location still loads: the schedules and the sensor
then skip their ticks naming what is missing, and a run fails saying which variable to set.
"""

import logging
from decimal import Decimal
from functools import cache

import dagster as dg
from pydantic import PrivateAttr, SecretStr
from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import SQLAlchemyError

from ycpipeline.client import (
    ApiBudget,
    ClientOptions,
    PostgresBudget,
    RateLimiter,
    RetryPolicy,
    YClientsClient,
    budget_key,
)
from ycpipeline.client.usage import record_usage
from ycpipeline.defs.loyalty.resources import LoyaltyResource
from ycpipeline.defs.marts.resources import MartsResource
from ycpipeline.defs.streams.resources import StreamsResource
from ycpipeline.settings import SettingsError, load_settings, parse_company_ids

log = logging.getLogger(__name__)


@cache
def _engine(url: str) -> Engine:
    # One pool per process and URL: resources are rebuilt per run, engines need not be.
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


def _required(value: str | None, name: str) -> str:
    if value is None:
        raise SettingsError(f"{name} is not set: set it in the environment or .env (see .env.example)")
    return value


class YClientsResource(dg.ConfigurableResource):
    """The YClients REST API (or the sandbox) for the configured company or chain."""

    api_url: str
    partner_token: str | None
    user_token: str | None
    company_ids: str | None
    page_size: int
    concurrency: int
    rate_limit_per_second: float
    rate_limit_per_minute: float
    rate_limit_patience_seconds: float
    rate_limit_key: str | None
    # The warehouse that holds the API budget shared by every run, step and sensor tick.
    budget_url: str | None

    _client: YClientsClient | None = PrivateAttr(default=None)

    def seed_companies(self) -> list[int]:
        """The company ids YCLIENTS_COMPANY_ID names: they seed the warehouse's list of tracked companies
        (`ycpipeline.warehouse.tracked_companies`), which says what is synced."""
        return parse_company_ids(self.company_ids) if self.company_ids else []

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

    def options(self) -> ClientOptions:
        """The client's options, as the settings gave them to this resource."""
        return ClientOptions(
            page_size=self.page_size,
            concurrency=self.concurrency,
            retry=RetryPolicy(patience=self.rate_limit_patience_seconds),
        )

    def client(self) -> YClientsClient:
        """A client for this run's steps, drawing on the budget every process of the deployment shares."""
        if self._client is None:
            self._client = YClientsClient(
                self.api_url,
                SecretStr(_required(self.partner_token, "YCLIENTS_API_TOKEN")),
                SecretStr(self.user_token) if self.user_token else None,
                options=self.options(),
                budget=self.budget(),
            )
        return self._client

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._client is None:
            return
        self._client.close()
        if self.budget_url is None:
            return
        stats = self._client.stats
        try:
            with _engine(self.budget_url).begin() as conn:
                run_id = context.run.run_id if context.run is not None else None
                record_usage(conn, stats.by_status, round(stats.hold_off_seconds * 1000), run_id)
        except SQLAlchemyError as exc:
            # The counts feed the metrics only: losing them must not fail a run that did its work.
            log.warning("API request counts not logged: %s", type(exc).__name__)


class WarehouseResource(dg.ConfigurableResource):
    """The Postgres warehouse."""

    url: str | None
    bonus_rate: str

    def engine(self) -> Engine:
        """The process-wide SQLAlchemy engine for this warehouse."""
        return _engine(_required(self.url, "WAREHOUSE_URL"))

    def rate(self) -> Decimal:
        """The bonus rate for first accruals."""
        return Decimal(self.bonus_rate)


def _env(name: str, present: bool) -> dg.EnvVar | None:
    return dg.EnvVar(name) if present else None


@dg.definitions
def defs() -> dg.Definitions:
    """The `yclients`, `warehouse`, `marts`, `loyalty` and `streams` resources, every value from the settings."""
    s = load_settings()
    return dg.Definitions(
        resources={
            "yclients": YClientsResource(
                api_url=s.yclients_api_url,
                partner_token=_env("YCLIENTS_API_TOKEN", s.yclients_api_token is not None),
                user_token=_env("YCLIENTS_USER_TOKEN", s.yclients_user_token is not None),
                company_ids=_env("YCLIENTS_COMPANY_ID", bool(s.company_ids)),
                page_size=s.yclients_page_size,
                concurrency=s.yclients_concurrency,
                rate_limit_per_second=s.yclients_rate_limit_per_second,
                rate_limit_per_minute=s.yclients_rate_limit_per_minute,
                rate_limit_patience_seconds=s.yclients_rate_limit_patience_seconds,
                rate_limit_key=s.yclients_rate_limit_key,
                budget_url=_env("WAREHOUSE_URL", s.warehouse_url is not None),
            ),
            "warehouse": WarehouseResource(
                url=_env("WAREHOUSE_URL", s.warehouse_url is not None), bonus_rate=str(s.bonus_rate)
            ),
            "marts": MartsResource.from_settings(s),
            "loyalty": LoyaltyResource.from_settings(s),
            "streams": StreamsResource.from_settings(s),
        }
    )
