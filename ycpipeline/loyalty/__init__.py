"""The loyalty bonus ledger: matching records to app users and deriving accruals."""
