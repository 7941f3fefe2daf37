"""Alembic migrations of the warehouse, run by `ycpipeline db upgrade` and on start-up."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine


class AppUsersMismatchError(RuntimeError):
    """`loyalty.app_users` exists but not in a shape the ledger can read; the message says what to change.

    Defined here, below the loyalty package, because migration 0006 raises it too (from its own frozen copy of
    the check) and a migration imports nothing above the warehouse.
    """


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", "ycpipeline.warehouse:migrations")
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the warehouse schema to `revision` (idempotent)."""
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
