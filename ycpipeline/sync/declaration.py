"""A stream declared as data: what to call, how an item becomes a row, the model, the table and its keys,
how rows retire, the window rule, the cadence and the fields read. `sync.loader.load_stream` runs any
declaration; `defs/streams/assets.py` turns each into a per-company asset.

A declaration lives in `sync/streams/<stream>.py`, one module per stream (docs/adding-a-stream.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Connection, Engine, Table

from ycpipeline.client import Listing, YClientsClient
from ycpipeline.client.paging import identity

if TYPE_CHECKING:
    import pandera.pandas as pa

log = logging.getLogger(__name__)

# How many times a listing is read before one that keeps coming incomplete is loaded without retiring.
LISTING_READS = 2

# The JSON kinds a field's values may take (`validation.drift.json_kind`). Generous where the description
# and the answers seen disagree (ids and amounts come as numbers or as numeric strings): a retype is only
# what none of them allows.
Kinds = frozenset[str]
ID = frozenset({"int", "string"})
OPTIONAL_ID = ID | {"null"}
TEXT = frozenset({"string", "null"})
NUMBER = frozenset({"int", "number", "string", "null"})
FLAG = frozenset({"bool", "int", "string"})
OBJECT = frozenset({"object", "null", "array"})  # `[]` for "none" is common in this API
LIST = frozenset({"array", "null"})

# When a stream is read, as its asset's `cadence` tag (the jobs select by it):
# - catalogue: daily, on the catalogue's webhooks and with every window refresh;
# - nightly: once a night (`yclients_streams_nightly`);
# - webhook: only when a webhook batch names what to re-read.
Cadence = Literal["catalogue", "nightly", "webhook"]


@dataclass(frozen=True)
class Spec:
    """A stream's table, keys and pandera rules: a model (which checks every column) or a schema (which
    checks the columns it names, `validation.streams.stream_rules`)."""

    entity: str
    table: Table
    keys: tuple[str, ...]
    model: type[pa.DataFrameModel] | pa.DataFrameSchema

    @property
    def columns(self) -> list[str]:
        """The table's columns, in order."""
        return [c.name for c in self.table.columns]

    @property
    def compare(self) -> list[str]:
        """The columns whose change makes a merge rewrite a row."""
        return [c for c in self.columns if c not in (*self.keys, "synced_at")]


@dataclass(frozen=True)
class StreamOptions:
    """What the settings tell the readers (Settings.stream_options builds it)."""

    booking_form_url: str | None
    service_link_template: str
    staff_link_template: str
    cash_ledger_overlap_days: int
    cash_ledger_wide_days: int
    schedules_days_back: int
    sync_days_ahead: int
    goods_days_back: int


@dataclass
class CompanyRead:
    """One company's read of a stream: the client, the warehouse, the options and what the run named."""

    client: YClientsClient
    engine: Engine
    company_id: int
    options: StreamOptions
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    # Ids a webhook batch asks to re-read (the clients' refresh by id).
    wanted: Sequence[int] = ()
    # The dates to read, when the caller names them instead of the stream's own window rule.
    window: tuple[date, date] | None = None

    @cached_property
    def tz(self) -> tzinfo:
        """The company's time zone (read once per company and cached in the warehouse)."""
        from ycpipeline.sync.companies import company_timezone

        return company_timezone(self.client, self.engine, self.company_id)

    @property
    def today(self) -> date:
        """Today in the company's zone."""
        return self.now.astimezone(self.tz).date()


@dataclass
class Read:
    """What a stream's reader served: its items, whether the listing came whole, and the window asked for.

    `params` are bound into the retire rule's `scope` (e.g. `:start`, `:wanted`) and seen by `after_merge`.
    """

    items: list[Any]
    complete: bool = True
    shortfall: str | None = None
    window: tuple[date, date] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)
    # False when the run named nothing to read (no request was made): nothing is loaded nor logged.
    asked: bool = True
    # How many pages held items (a listing on one page cannot have moved between its pages).
    pages: int = 1


@dataclass(frozen=True)
class Retire:
    """What happens to a stored row the read no longer lists (only after a whole read; never to a row
    rejected this time, which is still listed).

    - `unlisted`: `removed_at` is set (a row listed again gets it cleared by the merge);
    - `delete`: the row is deleted (schedules: a day no longer worked is not a removed object);
    - `never`: nothing (a change feed lists only what changed).

    `scope` (SQL over the table, alias `t`) bounds what the read covered; the read's window is bound as
    `:start`/`:end`.
    """

    how: Literal["unlisted", "delete", "never"]
    scope: str = "TRUE"


UNLISTED = Retire("unlisted")
NEVER = Retire("never")


@dataclass(frozen=True)
class Stream:
    """The declaration of one stream."""

    spec: Spec
    asset: str
    # The API object's top-level fields this stream reads, with the JSON kinds each may carry, and the
    # documented fields it does not read (`documented`): a field outside both, a read field no item carries,
    # or a read field of another kind is recorded as schema drift (`validation.drift`).
    fields: Mapping[str, Kinds]
    read: Callable[[CompanyRead], Read]
    row: Callable[[Any, CompanyRead], dict[str, Any]]
    retire: Retire
    cadence: Cadence
    domain: str
    description: str
    # A served row whose date in this column lies outside the read's window is quarantined (`sync.windows`).
    window_column: str | None = None
    # Rows to store (schedules: only working days, and every row with a problem, to be quarantined).
    keep: Callable[[dict[str, Any]], bool] | None = None
    # Run inside the load's transaction after the merge (the cash ledger marks its wide read).
    after_merge: Callable[[Connection, CompanyRead, Read], None] | None = None
    documented: frozenset[str] = frozenset()
    deps: tuple[str, ...] = ()
    # The prefix of the asset's checks when it differs from the entity (a second reader of one table).
    checks_prefix: str | None = None

    @property
    def name(self) -> str:
        """The prefix of the stream's checks (its entity unless told otherwise)."""
        return self.checks_prefix or self.spec.entity


def read_listing(
    open_listing: Callable[[], Listing], what: str, window: tuple[date, date] | None = None, **params: Any
) -> Read:
    """Read a listing; when it comes incomplete (`Listing.complete`), read it once more, and report it
    when it is still incomplete: its rows load, but nothing is retired on its word."""
    for attempt in range(1, LISTING_READS + 1):
        listing = open_listing()
        pages = [page for page in listing if page.items]
        items = [item for page in pages for item in page.items]
        if listing.complete:
            return Read(items, True, None, window, dict(params), {"listing": "complete"}, pages=len(pages))
        shortfall = listing.shortfall()
        log.warning("%s came incomplete (%s), read %s of %s", what, shortfall, attempt, LISTING_READS)
    return Read(
        items,
        False,
        shortfall,
        window,
        dict(params),
        {"listing": f"incomplete, nothing retired: {shortfall}"},
        pages=len(pages),
    )


def read_settled(
    open_listing: Callable[[], Listing], what: str, window: tuple[date, date] | None = None
) -> Read:
    """Read a listing; when it spans pages, read it once more: a row that moves in the feed while it is
    paged (an edit, a deletion) can push another past a page boundary unseen. Both passes' rows load (the
    later version of a row seen twice); when they disagree, `notes["feed"]` says the feed moved and the
    watermark holds, so the next read asks from the same point again."""
    first = read_listing(open_listing, what, window)
    if first.pages <= 1 or not first.complete:
        return first
    second = read_listing(open_listing, f"{what}, again", window)
    later = {identity(item) for item in second.items}
    earlier = {identity(item) for item in first.items}
    second.items += [item for item in first.items if identity(item) not in later]
    if later != earlier:
        second.notes["feed"] = (
            f"moved while read ({len(later ^ earlier)} rows in one pass only): watermark held"
        )
        log.warning("%s moved while read: the watermark holds", what)
    return second
