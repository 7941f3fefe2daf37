"""Settings read from the environment and `.env` (pydantic-settings).

Every variable of the configuration table in the README lives here, and so does its default: the
Dagster resources, the policy objects (`mart_policy()`…) and the client are built from these values and
restate none of them. Each field's description is its comment in `.env.example`, which is generated
from this class (`make env-example`; a test compares the two). Tokens are
`SecretStr`, so they never show in a repr, a log line or an exception message.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy import Numeric
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ycpipeline.client.options import ClientOptions
from ycpipeline.client.retrying import RetryPolicy
from ycpipeline.loyalty.expiry import ExpiryPolicy
from ycpipeline.marts.refresh import MartPolicy
from ycpipeline.normalize.values import FALLBACK_ZONE
from ycpipeline.validation.sqltypes import fits_numeric
from ycpipeline.warehouse.schema import bonus_ledger

if TYPE_CHECKING:
    from ycpipeline.sync.declaration import StreamOptions

DEFAULT_API_URL = "https://api.yclients.com/api/v1"


def parse_company_ids(text: str) -> list[int]:
    """`235564` or `235564,235565` (a chain) → the ids; anything else (a non-digit, 0, an id past the
    warehouse's 64-bit ids) is a ValueError."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    # isascii: "²" is a digit to str.isdigit, not to int().
    if not all(p.isascii() and p.isdigit() and 0 < int(p) < 2**63 for p in parts):
        raise ValueError(
            "expected a company id (1 … 2^63−1) or a comma-separated list of ids, e.g. 235564,235565"
        )
    return [int(p) for p in parts]


def parse_start_date(text: str) -> date:
    """RECORDS_START_DATE's text (YYYY-MM-DD) as a date; the one place that text is parsed."""
    return date.fromisoformat(text)


class SettingsError(RuntimeError):
    """A setting is missing or malformed; the message names the variable."""


class Settings(BaseSettings):
    """ycpipeline configuration. Field names map to upper-case environment variables."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    yclients_enabled: bool = Field(
        default=True,
        description="Master switch: when false the schedules and the webhook sensor skip their ticks.",
    )
    yclients_company_id: Annotated[list[int], NoDecode] = Field(
        default_factory=list,
        description="One company id, or a comma-separated list for a chain (the number in …/timetable/<id>).",
    )
    yclients_api_token: SecretStr | None = Field(
        default=None, description="Partner token (Authorization: Bearer …), from the YClients marketplace."
    )
    yclients_user_token: SecretStr | None = Field(
        default=None, description="User token (`, User …`) from POST /auth; changes with the user's password."
    )
    yclients_api_url: str = Field(default=DEFAULT_API_URL, description="The API, or the sandbox.")
    yclients_booking_form_url: str | None = Field(
        default=None,
        description="The booking form's own domain; booking links are built from it.",
        examples=["https://n239661.yclients.com"],
    )
    # Booking links are documented only by practice, hence templates rather than code.
    yclients_service_link_template: str = Field(
        default="{form}/company/{company_id}/personal/select-services?o=s{service_id}",
        description="The shape of a service's booking link (documented only by practice).",
    )
    yclients_staff_link_template: str = Field(
        default="{form}/company/{company_id}/personal/select-master?o=m{staff_id}",
        description="The shape of a staff member's booking link (documented only by practice).",
    )
    # The maximum records page size is unconfirmed; 200 is what clients in the wild use safely.
    yclients_page_size: int = Field(
        default=200,
        ge=1,
        le=1000,
        description="Objects per page of every paged listing (records, cash, clients).",
    )
    yclients_rate_limit_per_second: float = Field(
        default=5.0, gt=0, description="The API's per-IP limit per second, shared by every process."
    )
    yclients_rate_limit_per_minute: float = Field(
        default=200.0, gt=0, description="The API's per-IP limit per minute, shared by every process."
    )
    # How long a call keeps waiting out 429s before it fails; other failures have their own bound.
    yclients_rate_limit_patience_seconds: float = Field(
        default=300.0,
        ge=0,
        description="How long a call waits out HTTP 429s (pausing every process) before it fails.",
    )
    yclients_rate_limit_key: str | None = Field(
        default=None,
        description="Processes with the same key share one budget in the warehouse (default: the API's host:port).",
    )
    yclients_concurrency: int = Field(
        default=4, ge=1, le=16, description="Pages fetched in parallel (still within the limits)."
    )
    # YCLIENTS_WEBHOOK_INBOX, unused since the webhook queue lives in Postgres, is still accepted and
    # ignored like any unknown variable (`extra="ignore"`): configuration names are public.
    yclients_webhook_secret: SecretStr | None = Field(
        default=None, description="The webhook receiver's shared secret (part of the URL YClients posts to)."
    )
    webhook_max_attempts: int = Field(
        default=5,
        ge=1,
        description="A webhook event whose run failed this many times is failed (retried every 6 hours).",
    )
    webhook_retention_days: int = Field(
        default=30, ge=1, description="Done and ignored webhook events are deleted after this many days."
    )
    warehouse_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the Postgres warehouse, through psycopg 3.",
        examples=["postgresql+psycopg://ycpipeline@127.0.0.1:5432/ycpipeline"],
    )
    bonus_rate: Decimal = Field(
        default=Decimal("0.05"),
        ge=0,
        le=1,
        description="Bonus share of a completed visit's cost, fixed per record at its first accrual (0…1).",
    )
    bonus_expiry_months: int = Field(
        default=0,
        ge=0,
        le=120,
        description="Points expire this many months after their accrual, oldest first (0: never).",
    )
    bonus_expiry_notice_days: int = Field(
        default=14,
        ge=0,
        le=366,
        description="loyalty.expiring_points lists what expires within this many days, for the app's reminders.",
    )
    records_start_date: str = Field(
        default="2024-01-01", description="The first partition date (YYYY-MM-DD): where your data starts."
    )
    sync_days_back: int = Field(
        default=3, ge=0, description="`sync --to` without --from starts this many days before today."
    )
    sync_days_ahead: int = Field(
        default=30,
        ge=0,
        description="Partitions, reconciliation and staff schedules reach this many days ahead (so does `sync --from`).",
    )
    yclients_partition_timezone: str = Field(
        default=FALLBACK_ZONE,
        description="Decides which dates exist as partitions yet, and dates a company whose zone is not stored.",
    )
    # Change capture and its safety net (README "Keeping it fresh").
    changes_overlap_minutes: int = Field(
        default=10, ge=0, description="Change capture re-reads this much before its watermark."
    )
    changes_days_ahead: int = Field(
        default=365,
        ge=0,
        description="Change capture reads visits up to this many days ahead (and so far loads first).",
    )
    reconcile_every_hours: float = Field(
        default=24.0, gt=0, description="A company's reconciliation is due this long after its last one."
    )
    reconcile_days_back: int = Field(
        default=45, ge=0, description="A reconciliation re-reads visits from this many days back."
    )

    # --- Streams beside the records and the marts (docs/marts.md) -------------------------------------
    cash_ledger_overlap_days: int = Field(
        default=3, ge=0, description="The nightly cash ledger read goes this many days back."
    )
    cash_ledger_wide_days: int = Field(
        default=45, ge=0, description="The weekly cash ledger read goes this many days back."
    )
    schedules_days_back: int = Field(
        default=14,
        ge=0,
        description="Staff schedules are read from this many days back to SYNC_DAYS_AHEAD ahead.",
    )
    goods_days_back: int = Field(
        default=45,
        ge=0,
        description="The first read of goods transactions goes this many days back; later reads take what "
        "changed since the last one.",
    )
    marts_lost_after_days: int = Field(
        default=90,
        ge=1,
        description="client_lifecycle: a client without a completed visit for longer is lost.",
    )
    marts_active_min_visits: int = Field(
        default=3,
        ge=2,
        description="client_lifecycle: from this many completed visits (and not lost) a client is active.",
    )
    marts_point_value: Decimal = Field(
        default=Decimal("1.00"), gt=0, le=1000, description="Roubles per bonus point in loyalty_liability."
    )

    # --- Alerts (docs/alerts.md): each channel is on when its settings are present --------------------
    alerts_webhook_url: SecretStr | None = Field(
        default=None, description="Alerts as a JSON POST to this URL."
    )
    alerts_slack_webhook_url: SecretStr | None = Field(
        default=None, description="Alerts to a Slack incoming webhook."
    )
    alerts_telegram_bot_token: SecretStr | None = Field(
        default=None, description="Alerts to a Telegram chat through this bot (with ALERTS_TELEGRAM_CHAT_ID)."
    )
    alerts_telegram_chat_id: str | None = Field(
        default=None, description="The Telegram chat the bot posts to."
    )
    alerts_telegram_api_url: str = Field(
        default="https://api.telegram.org", description="The Telegram Bot API's address (a test server)."
    )
    alerts_smtp_url: SecretStr | None = Field(
        default=None,
        description="Alerts by email: smtp://user:password@host:587 (STARTTLS when offered) or smtps://…:465.",
    )
    alerts_email_to: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="The alerts' recipients, comma-separated."
    )
    alerts_email_from: str = Field(default="ycpipeline@localhost", description="The alerts' sender address.")
    alerts_dagster_url: str | None = Field(
        default=None,
        description="The Dagster UI's address, for links to runs and assets in the alerts.",
        examples=["http://localhost:3000"],
    )
    alerts_webhook_pending_minutes: float = Field(
        default=30.0, gt=0, description="Webhook events pending longer than this are an incident."
    )
    alerts_budget_paused_minutes: float = Field(
        default=10.0, gt=0, description="The API budget paused by 429s for longer than this is an incident."
    )
    alerts_interval_seconds: int = Field(
        default=60, ge=1, description="How often the alert sensors look (seconds)."
    )

    @field_validator("yclients_company_id", mode="before")
    @classmethod
    def _split_company_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return parse_company_ids(value)
        if isinstance(value, int):
            return [value]
        return value

    @field_validator(
        "yclients_api_token",
        "yclients_user_token",
        "yclients_webhook_secret",
        "alerts_webhook_url",
        "alerts_slack_webhook_url",
        "alerts_telegram_bot_token",
        "alerts_telegram_chat_id",
        "alerts_smtp_url",
        "alerts_dagster_url",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("alerts_email_to", mode="before")
    @classmethod
    def _split_addresses(cls, value: object) -> object:
        if isinstance(value, str):
            return [a.strip() for a in value.split(",") if a.strip()]
        return value

    @field_validator("warehouse_url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        # Messages never repeat the value: it holds the password.
        if value is None or not value.strip():
            return None
        try:
            url = make_url(value.strip())
        except (ArgumentError, ValueError):
            raise ValueError(
                "not a SQLAlchemy URL; expected postgresql+psycopg://user:password@host:port/database"
            ) from None
        if url.get_backend_name() != "postgresql" or url.get_driver_name() != "psycopg":
            raise ValueError(
                "the warehouse is Postgres through psycopg 3: use postgresql+psycopg://user:password@host:port/database"
            )
        return value.strip()

    @field_validator("bonus_rate")
    @classmethod
    def _rate_the_ledger_stores(cls, value: Decimal) -> Decimal:
        # The ledger keeps each record's rate; a rate it would round re-prices visits behind our back.
        column = bonus_ledger.c.rate.type
        assert isinstance(column, Numeric) and column.precision is not None and column.scale is not None
        if not fits_numeric(value, column.precision, column.scale):
            raise ValueError(
                f"{value} cannot be stored exactly as the ledger's rate "
                f"(numeric({column.precision},{column.scale})): use at most {column.scale} decimals, e.g. 0.0525"
            )
        return value

    @field_validator("records_start_date")
    @classmethod
    def _iso_date(cls, value: str) -> str:
        # Refused at start, naming the variable, rather than by Dagster when the partitions are built.
        parse_start_date(value)
        return value

    @field_validator(
        "yclients_api_url", "yclients_booking_form_url", "alerts_telegram_api_url", "alerts_dagster_url"
    )
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @property
    def company_ids(self) -> list[int]:
        """The configured companies (one, or several for a chain)."""
        return self.yclients_company_id

    @property
    def records_start(self) -> date:
        """RECORDS_START_DATE as a date: the first partition and the first visit date of the history."""
        return parse_start_date(self.records_start_date)

    def mart_policy(self) -> MartPolicy:
        """What the marts are computed with, as configured."""
        return MartPolicy(
            lost_after_days=self.marts_lost_after_days,
            active_min_visits=self.marts_active_min_visits,
            point_value=str(self.marts_point_value),
            fallback_zone=self.yclients_partition_timezone,
        )

    def expiry_policy(self) -> ExpiryPolicy:
        """The expiry rule of bonus points, as configured."""
        return ExpiryPolicy(months=self.bonus_expiry_months, notice_days=self.bonus_expiry_notice_days)

    def stream_options(self) -> StreamOptions:
        """What the streams' readers are told (booking links, the cash ledger's, schedules' and goods'
        windows), as configured."""
        # Imported here: the streams bring the client, which a command reading settings need not load.
        from ycpipeline.sync.declaration import StreamOptions

        return StreamOptions(
            booking_form_url=self.yclients_booking_form_url,
            service_link_template=self.yclients_service_link_template,
            staff_link_template=self.yclients_staff_link_template,
            cash_ledger_overlap_days=self.cash_ledger_overlap_days,
            cash_ledger_wide_days=self.cash_ledger_wide_days,
            schedules_days_back=self.schedules_days_back,
            sync_days_ahead=self.sync_days_ahead,
            goods_days_back=self.goods_days_back,
        )

    def client_options(self) -> ClientOptions:
        """How a YClients client pages and retries, as configured."""
        return ClientOptions(
            page_size=self.yclients_page_size,
            concurrency=self.yclients_concurrency,
            retry=RetryPolicy(patience=self.yclients_rate_limit_patience_seconds),
        )

    def secret_values(self) -> list[str]:
        """Every secret set in this configuration, for scrubbing text that leaves the pipeline."""
        secrets = (
            self.yclients_api_token,
            self.yclients_user_token,
            self.yclients_webhook_secret,
            self.alerts_webhook_url,
            self.alerts_slack_webhook_url,
            self.alerts_telegram_bot_token,
            self.alerts_smtp_url,
        )
        return [s.get_secret_value() for s in secrets if s is not None]

    def missing_for_sync(self) -> list[str]:
        """The variables a sync needs that are not set (empty when it can run)."""
        # YCLIENTS_COMPANY_ID is not needed: it only seeds the tracked companies (`ycpipeline companies`).
        needed = {
            "YCLIENTS_API_TOKEN": self.yclients_api_token is not None,
            "WAREHOUSE_URL": self.warehouse_url is not None,
        }
        return [name for name, present in needed.items() if not present]


def load_settings(**overrides: Any) -> Settings:
    """Read settings, turning pydantic's errors into one message naming each bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = str(err["loc"][0]).upper() if err["loc"] else "?"
            # pydantic echoes the input value: drop it, it may be a secret.
            problems.append(f"{name}: {err['msg'].removeprefix('Value error, ')}")
        raise SettingsError("invalid configuration: " + "; ".join(problems)) from None


def defaults(**changes: Any) -> Settings:
    """The settings as shipped, whatever the environment and `.env` say, with `changes` (field names) applied
    unvalidated: what the tests and the benchmarks compute with."""
    return Settings.model_construct().model_copy(update=changes)


MASK_PREFIX_FROM = 16  # characters a secret needs before any of it is shown


def mask(secret: SecretStr | str | None) -> str:
    """Show that a secret is set: its first 4 characters when it has 16 or more (`abcd…`), else `****`."""
    if secret is None:
        return "(not set)"
    value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    if len(value) < MASK_PREFIX_FROM:
        return "****"
    return f"{value[:4]}…"
