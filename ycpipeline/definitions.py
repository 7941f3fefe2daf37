"""The code location: every definition under `ycpipeline/defs/`, loaded by Dagster's `load_defs`."""

from __future__ import annotations

import dagster as dg


@dg.components.definitions
def defs() -> dg.Definitions:
    """All assets, checks, jobs, schedules, sensors and resources of ycpipeline."""
    import ycpipeline.defs

    return dg.components.load_defs(ycpipeline.defs)
