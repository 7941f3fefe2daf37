"""The alert message: the fields every channel carries (the JSON webhook sends them as they are)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

FIRST_LINE_MAX = 500  # characters of an error kept in a message (the API errors' advice fits)


def first_line(error: str | None) -> str:
    """The first non-empty line of an error as a sentence, shortened: what a person reads first."""
    for line in (error or "").splitlines():
        if line.strip():
            line = line.strip()
            line = line if len(line) <= FIRST_LINE_MAX else line[: FIRST_LINE_MAX - 1] + "…"
            return line if line.endswith((".", "…", "!", "?")) else line + "."
    return "(no error message)."


@dataclass(frozen=True)
class Alert:
    """One message: `severity` is `critical`, `warning` or `resolved`; the rest names what it is about."""

    severity: str
    title: str
    text: str
    company_id: int | None = None
    asset: str | None = None
    check: str | None = None
    run_id: str | None = None
    url: str | None = None

    def payload(self) -> dict[str, Any]:
        """The JSON body of `ALERTS_WEBHOOK_URL` (every field, null when it does not apply)."""
        return asdict(self)

    def plain(self) -> str:
        """Title, text and link as plain text (Telegram, email, Slack)."""
        return "\n".join(part for part in (self.title, self.text, self.url) if part)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Alert:
        """The alert back from `payload()` (incidents are kept as JSON between sensor ticks)."""
        return cls(**payload)

    def recovered(self, opened_at: str) -> Alert:
        """The message that the incident this alert opened has ended."""
        return Alert(
            severity="resolved",
            title=f"Resolved: {self.title}",
            text=f"Back to normal (the incident opened at {opened_at}). It was: {first_line(self.text)}",
            company_id=self.company_id,
            asset=self.asset,
            check=self.check,
            run_id=self.run_id,
            url=self.url,
        )
