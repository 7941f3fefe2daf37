"""Databases of a test's own beside the test warehouse, in the same Postgres."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text


def _admin(base_url: str, statements: list[str]) -> None:
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for statement in statements:
            conn.execute(text(statement))
    admin.dispose()


def recreate_database(base_url: str, name: str) -> str:
    """An empty database `name` in `base_url`'s server (one left by an earlier run is dropped); its URL."""
    _admin(base_url, [f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'])
    return base_url.rsplit("/", 1)[0] + "/" + name


@contextmanager
def scratch_database(base_url: str, name: str) -> Iterator[str]:
    """`recreate_database`, dropped again when the block ends."""
    url = recreate_database(base_url, name)
    try:
        yield url
    finally:
        _admin(base_url, [f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'])
