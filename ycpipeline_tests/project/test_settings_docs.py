"""`.env.example` and the READMEs' settings tables list every setting, and nothing that is not one."""

from __future__ import annotations

import pytest

from ycpipeline.settings import Settings
from ycpipeline.settings_docs import ENV_EXAMPLE, RETIRED, ROOT, documented_names, env_example, variable

SETTINGS = {variable(name) for name in Settings.model_fields}


def test_every_setting_says_what_it_is_for() -> None:
    """`.env.example` writes each field's description as its comment: none may be missing."""
    assert [name for name, field in Settings.model_fields.items() if not field.description] == []


def test_env_example_is_generated_from_the_settings() -> None:
    assert ENV_EXAMPLE.read_text(encoding="utf-8") == env_example(), (
        ".env.example is behind ycpipeline/settings.py: run `make env-example`"
    )


@pytest.mark.parametrize(
    ("readme", "heading"),
    [
        ("README.md", "## Configuration (environment or `.env`)"),
        ("README.ru.md", "## Настройка (`.env`, образец в `.env.example`)"),
    ],
)
def test_the_readme_table_lists_every_setting_and_no_other(readme: str, heading: str) -> None:
    listed = documented_names((ROOT / readme).read_text(encoding="utf-8"), heading)
    assert sorted(SETTINGS - listed) == [], f"settings missing from the table in {readme}"
    assert sorted(listed - SETTINGS - RETIRED) == [], f"{readme} lists variables that are not settings"
