"""Resources whose fields are settings under the settings' own names.

Such a resource restates no setting: `from_settings` fills every field from the setting of the same name,
and `settings()` reads the fields back as `Settings`, whose methods build the policy objects. The fields
stay Dagster config, so a run shows (and may override) what it was computed with.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Self

import dagster as dg

from ycpipeline.settings import Settings, load_settings


def _config_value(value: Any) -> Any:
    # Dagster config holds no Decimal: its text, which the settings parse back exactly.
    return str(value) if isinstance(value, Decimal) else value


class SettingsResource(dg.ConfigurableResource):
    """A resource each of whose fields is the setting of the same name."""

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """The resource with every field taken from `settings`."""
        return cls(**{name: _config_value(getattr(settings, name)) for name in cls.model_fields})

    def settings(self) -> Settings:
        """This resource's fields as settings (validated as at start; the other settings from the environment)."""
        return load_settings(**{name: getattr(self, name) for name in type(self).model_fields})
