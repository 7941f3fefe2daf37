"""Streams beside the records: catalogue extras (service categories, payment accounts), clients, the cash
ledger and staff schedules. Each reads its endpoint, quarantines invalid rows and merges the rest."""
