"""The chain the state serves: its generated salons, each one's time zone and "today", and the clock and
the lock that every other part of the state shares."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, tzinfo

from ycpipeline_sandbox import generator as gen
from ycpipeline_sandbox.config import SandboxConfig


def parse_change_time(text: str) -> datetime:
    """A record's `last_change_date` (`2019-01-16T20:35:15+0900`) as an aware datetime."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z")


class Chain:
    """The companies of the sandbox (`companies` ≥ 1, ids from 235564 up, mixed time zones), the history's
    bounds around each one's `anchor`, and the wall clock of changes."""

    def _init_chain(
        self,
        params: gen.GenerationParams | None,
        *,
        companies: int,
        days_back: int,
        days_ahead: int,
        config: SandboxConfig | None,
    ) -> None:
        if companies < 1:
            raise ValueError("the sandbox serves at least one company")
        self.params = params or gen.GenerationParams()
        # Shared with the Sandbox serving this state, so `reconfigure` reaches the change rules too.
        self.config = config or SandboxConfig()
        self.salons = {
            shop.profile.company_id: shop
            for shop in (gen.Salon(self.params.seed, i) for i in range(companies))
        }
        self.company_indexes = {cid: shop.index for cid, shop in self.salons.items()}
        self.days_back = days_back
        self.days_ahead = days_ahead
        self.people = gen.people(self.params.seed)
        # The wall clock of changes (a test may pin it); a change is never dated before the one it follows.
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self._lock = threading.RLock()

    @property
    def company_ids(self) -> list[int]:
        """The chain's company ids, in order."""
        return list(self.salons)

    def knows(self, company_id: int) -> bool:
        """Whether `company_id` is a company of this sandbox."""
        return company_id in self.salons

    def timezone(self, company_id: int) -> tzinfo:
        """The company's time zone."""
        return self.salons[company_id].zone

    def anchor(self, company_id: int) -> date:
        """The salon's "today": fixed by the params, else today's date in the company's zone."""
        return self.params.anchor or datetime.now(self.timezone(company_id)).date()

    def _change_time(self, company_id: int, previous: str | None) -> datetime:
        now = self.clock().astimezone(self.timezone(company_id)).replace(microsecond=0)
        if previous:
            now = max(now, parse_change_time(previous) + timedelta(seconds=1))
        return now
