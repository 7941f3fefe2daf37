"""`.env.example`, generated from the settings, and the names the READMEs' settings tables list.

`python -m ycpipeline.settings_docs` (`make env-example`) rewrites `.env.example` from `Settings`: every
variable, its default (or an example when it has none) and its field's description. The tests compare the
file with `env_example()` and the READMEs' tables with `Settings`, so neither falls behind a new setting.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic.fields import FieldInfo

from ycpipeline.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
ENV_EXAMPLE = ROOT / ".env.example"

# Variables the READMEs still document though no setting reads them: configuration names are public, so
# a retired one stays accepted (and ignored) rather than refused.
RETIRED = frozenset({"YCLIENTS_WEBHOOK_INBOX"})

HEADER = """\
# Copy to .env and fill in for the real API. Real values never go into git.
# `make demo` ignores this file: it always runs its own sandbox and embedded Postgres.
# Lines left commented keep the default (the one in ycpipeline/settings.py, also in README.md); a variable
# without a default shows an example value, or nothing.
# Generated from ycpipeline/settings.py by `make env-example`: change a description there, not here.
"""


def variable(name: str) -> str:
    """The environment variable of a settings field."""
    return name.upper()


def _shown(field: FieldInfo) -> str:
    if field.default_factory is None and field.default is not None:
        value = field.default
    elif field.examples:
        value = field.examples[0]
    else:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"  # 5.0 reads as 5
    return str(value)


def env_example() -> str:
    """The text of `.env.example`: every setting, commented out, under its description."""
    entries = [
        f"# {field.description}\n# {variable(name)}={_shown(field)}\n"
        for name, field in Settings.model_fields.items()
    ]
    return HEADER + "".join("\n" + entry for entry in entries)


def documented_names(readme: str, heading: str) -> set[str]:
    """The variables named in the first column of the table under `heading` in a README's text."""
    lines = readme.splitlines()
    start = lines.index(heading)
    names: set[str] = set()
    in_table = False
    for line in lines[start + 1 :]:
        if line.startswith("|"):
            in_table = True
            names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1]))
        elif in_table:
            break
    return names


def main() -> None:
    """Rewrite `.env.example` from the settings."""
    ENV_EXAMPLE.write_text(env_example(), encoding="utf-8")
    print(f"{ENV_EXAMPLE.name}: {len(Settings.model_fields)} settings")


if __name__ == "__main__":
    main()
