"""Paging of the listings (`GET /records` and the others): `page` from 1, `count` capped, and pages cut from
days without building them all."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# The page size when `count` is absent: the description's parameter example (yclientsru.apib:5442);
# the real default is not documented.
DEFAULT_COUNT = 50


class BadParameter(ValueError):
    """A query parameter the API would refuse."""


@dataclass(frozen=True)
class PageRequest:
    """Which slice of the matching objects a request asks for."""

    page: int
    count: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.count

    @classmethod
    def parse(cls, query: Mapping[str, str], cap: int, default: int = DEFAULT_COUNT) -> PageRequest:
        """`page` (≥ 1) and `count` (1 … `cap`; larger asks are cut to `cap`; `default` when absent, as
        each listing documents its own)."""
        try:
            page = int(query.get("page", "1"))
            count = int(query.get("count", str(default)))
        except ValueError:
            raise BadParameter("page and count must be integers") from None
        return cls(max(1, page), min(max(1, count), cap))


@dataclass(frozen=True)
class Chunk:
    """A run of objects (e.g. one day's records) whose size is cheap to know and whose items are not."""

    size: int
    items: Callable[[], list[dict[str, Any]]]


def cut_page(chunks: Iterable[Chunk], request: PageRequest) -> tuple[list[dict[str, Any]], int]:
    """The requested page and the total count, building only the chunks the page overlaps."""
    page: list[dict[str, Any]] = []
    total = 0
    for chunk in chunks:
        if total + chunk.size > request.offset and len(page) < request.count:
            skip = max(0, request.offset - total)
            page.extend(chunk.items()[skip : skip + request.count - len(page)])
        total += chunk.size
    return page, total
