"""Dagster definitions, loaded by `ycpipeline.definitions`: one sub-folder per area."""
