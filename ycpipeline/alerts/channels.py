"""The channels an alert goes out on, each on when its settings are present.

HTTP channels use httpx, email the standard library's smtplib. A failing channel never stops the others,
and its error names the channel and what went wrong, never the URL (a Telegram URL holds the bot token, a
Slack one its secret).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import unquote, urlsplit

import httpx

from ycpipeline.alerts.messages import Alert
from ycpipeline.alerts.scrub import scrub
from ycpipeline.settings import Settings

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 10.0


class ChannelError(RuntimeError):
    """A channel could not deliver; the message names the channel, never its address."""


class Channel(Protocol):
    """Delivers one alert or raises `ChannelError`."""

    @property
    def name(self) -> str:
        """What the channel is called in errors."""

    def send(self, alert: Alert) -> None:
        """Deliver `alert`."""


def _post(name: str, url: str, body: dict[str, object]) -> None:
    try:
        response = httpx.post(url, json=body, timeout=TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        raise ChannelError(f"{name}: {type(exc).__name__}") from None
    if response.status_code >= 300:
        raise ChannelError(f"{name}: HTTP {response.status_code}")


@dataclass(frozen=True)
class WebhookChannel:
    """`ALERTS_WEBHOOK_URL`: the alert's fields as a JSON POST."""

    url: str = field(repr=False)
    name: str = "webhook"

    def send(self, alert: Alert) -> None:
        """POST the alert's fields as JSON."""
        _post(self.name, self.url, alert.payload())


@dataclass(frozen=True)
class SlackChannel:
    """`ALERTS_SLACK_WEBHOOK_URL`: a Slack incoming webhook."""

    url: str = field(repr=False)
    name: str = "slack"

    def send(self, alert: Alert) -> None:
        """POST the alert as a Slack message (title in bold)."""
        lines = [f"*{alert.title}*", alert.text, *([f"<{alert.url}|Open in Dagster>"] if alert.url else [])]
        _post(self.name, self.url, {"text": "\n".join(lines)})


@dataclass(frozen=True)
class TelegramChannel:
    """`ALERTS_TELEGRAM_BOT_TOKEN` + `ALERTS_TELEGRAM_CHAT_ID`: the Bot API's sendMessage."""

    api_url: str
    token: str = field(repr=False)
    chat_id: str
    name: str = "telegram"

    def send(self, alert: Alert) -> None:
        """Send the alert as a plain-text message to the chat."""
        body: dict[str, object] = {
            "chat_id": self.chat_id,
            "text": alert.plain(),
            "disable_web_page_preview": True,
        }
        _post(self.name, f"{self.api_url}/bot{self.token}/sendMessage", body)


@dataclass(frozen=True)
class EmailChannel:
    """`ALERTS_SMTP_URL` + `ALERTS_EMAIL_TO`: one email per alert.

    `smtp://user:password@host:port` upgrades to TLS when the server offers STARTTLS; `smtps://` speaks
    TLS from the start. Without credentials in the URL it sends without logging in.
    """

    smtp_url: str = field(repr=False)
    to: Sequence[str]
    sender: str
    name: str = "email"

    def _connect(self) -> smtplib.SMTP:
        parts = urlsplit(self.smtp_url)
        host = parts.hostname or "localhost"
        if parts.scheme == "smtps":
            return smtplib.SMTP_SSL(host, parts.port or 465, timeout=TIMEOUT_SECONDS)
        if parts.scheme != "smtp":
            raise ChannelError(f"{self.name}: ALERTS_SMTP_URL must start with smtp:// or smtps://")
        server = smtplib.SMTP(host, parts.port or 25, timeout=TIMEOUT_SECONDS)
        server.ehlo()
        if server.has_extn("starttls"):
            server.starttls(context=ssl.create_default_context())
            server.ehlo()
        return server

    def send(self, alert: Alert) -> None:
        """Send the alert as a plain-text email to every address of `ALERTS_EMAIL_TO`."""
        message = EmailMessage()
        message["Subject"] = f"[ycpipeline] {alert.title}"
        message["From"] = self.sender
        message["To"] = ", ".join(self.to)
        message.set_content(alert.plain())
        parts = urlsplit(self.smtp_url)
        try:
            with self._connect() as server:
                if parts.username:
                    server.login(unquote(parts.username), unquote(parts.password or ""))
                server.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise ChannelError(f"{self.name}: {type(exc).__name__}") from None


def channels_from_settings(settings: Settings) -> list[Channel]:
    """The channels whose settings are present."""
    channels: list[Channel] = []
    if settings.alerts_webhook_url is not None:
        channels.append(WebhookChannel(settings.alerts_webhook_url.get_secret_value()))
    if settings.alerts_slack_webhook_url is not None:
        channels.append(SlackChannel(settings.alerts_slack_webhook_url.get_secret_value()))
    if settings.alerts_telegram_bot_token is not None and settings.alerts_telegram_chat_id:
        channels.append(
            TelegramChannel(
                settings.alerts_telegram_api_url,
                settings.alerts_telegram_bot_token.get_secret_value(),
                settings.alerts_telegram_chat_id,
            )
        )
    if settings.alerts_smtp_url is not None and settings.alerts_email_to:
        channels.append(
            EmailChannel(
                settings.alerts_smtp_url.get_secret_value(),
                settings.alerts_email_to,
                settings.alerts_email_from,
            )
        )
    return channels


def _scrubbed(alert: Alert, secrets: Sequence[str]) -> Alert:
    return replace(
        alert,
        title=scrub(alert.title, secrets),
        text=scrub(alert.text, secrets),
        url=scrub(alert.url, secrets) if alert.url else None,
    )


def deliver(alerts: Iterable[Alert], channels: Sequence[Channel], secrets: Sequence[str]) -> list[str]:
    """Send each alert (scrubbed of `secrets`) on every channel; returns the failures, each logged."""
    failures: list[str] = []
    for alert in alerts:
        clean = _scrubbed(alert, secrets)
        for channel in channels:
            try:
                channel.send(clean)
            except ChannelError as exc:
                log.error("alert %r not delivered: %s", clean.title, exc)
                failures.append(str(exc))
    return failures
