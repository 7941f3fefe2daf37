"""Turn raw YClients objects into warehouse rows (types coerced, phones in E.164, money as Decimal)."""
