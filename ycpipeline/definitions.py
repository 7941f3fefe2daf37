"""The code location: every definition under `ycpipeline/defs/`, loaded by Dagster's `load_from_defs_folder`."""

from __future__ import annotations

from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    """All assets, checks, jobs, schedules, sensors and resources of ycpipeline."""
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
