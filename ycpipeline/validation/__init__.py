"""pandera validation of normalised rows; failures are quarantined in `yclients.rejected_rows`."""
