"""Loading one stream for one company in a test, as the assets do, with the settings' default options
changed where the test says."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine

from ycpipeline.client import YClientsClient
from ycpipeline.settings import Settings
from ycpipeline.sync.declaration import Stream, StreamOptions
from ycpipeline.sync.loader import StreamResult, load_stream


def options(**changes: Any) -> StreamOptions:
    """The options the settings' defaults give (the environment aside), with `changes`."""
    return replace(Settings.model_construct().stream_options(), **changes)


def load(
    stream: Stream,
    client: YClientsClient,
    engine: Engine,
    company_id: int,
    *,
    run_id: str | None = None,
    now: datetime | None = None,
    wanted: Sequence[int] = (),
    window: tuple[date, date] | None = None,
    **changes: Any,
) -> StreamResult:
    """`load_stream` with `options(**changes)`, reading at `now` (default: now), the ids `wanted`, the dates of
    `window` (default: the stream's own rule)."""
    read_with: dict[str, Any] = {"wanted": wanted, "window": window}
    if now is not None:
        read_with["now"] = now
    return load_stream(stream, client, engine, company_id, options(**changes), run_id=run_id, **read_with)
