"""SQL kept in `.sql` files beside the package that owns it (`<package>/sql/<name>`), read as package data.

A statement of a page or more reads better, diffs better and lints (sqlfluff) as a file of its own than as a
Python string; the Python that runs it keeps only the parameters and the control around it.
"""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def read_sql(package: str, name: str) -> str:
    """The text of `sql/<name>` in `package` (for example `read_sql("ycpipeline.marts", "branch_daily.sql")`)."""
    return resources.files(package).joinpath(f"sql/{name}").read_text("utf-8")
