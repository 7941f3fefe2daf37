"""The warehouse engine the CLI's commands open, with the one error they give when it is not set."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ycpipeline.cli.errors import UserError

if TYPE_CHECKING:
    from sqlalchemy import Engine


def warehouse_engine() -> Engine:
    """An engine on WAREHOUSE_URL (its parameters hidden from errors); UserError when it is not set."""
    from sqlalchemy import create_engine

    from ycpipeline.settings import load_settings

    url = load_settings().warehouse_url
    if not url:
        raise UserError("missing setting(s): WAREHOUSE_URL (set it in .env; see .env.example)")
    return create_engine(url, hide_parameters=True)
