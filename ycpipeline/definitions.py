"""The code location: every definition under `ycpipeline/defs/`, loaded by Dagster's `load_from_defs_folder`,
with each asset linked to the file and line that defines it (the UI's code references)."""

from __future__ import annotations

import warnings
from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    """All assets, checks, jobs, schedules, sensors and resources of ycpipeline."""
    loaded = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
    # Local references only: `link_code_references_to_git` needs a canonical remote and branch, which a
    # clone, the demo and the tests do not have; the UI shows the path and line either way.
    # Code references are a beta API of Dagster; its BetaWarning would be printed by every process that
    # loads the code location (each CLI run, the demo), for a choice made once, here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        assets = dg.with_source_code_references(list(loaded.assets or []))
    return dg.Definitions(
        assets=assets,
        asset_checks=loaded.asset_checks,
        jobs=loaded.jobs,
        schedules=loaded.schedules,
        sensors=loaded.sensors,
        resources=loaded.resources,
        loggers=loaded.loggers,
        executor=loaded.executor,
        metadata=loaded.metadata,
        component_tree=loaded.component_tree,
    )
