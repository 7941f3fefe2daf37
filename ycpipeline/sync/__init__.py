"""Extract → normalise → validate → load, for each entity; orchestrator-agnostic (Dagster calls these)."""
