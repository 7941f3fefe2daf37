"""YClients webhooks: the receiver (ASGI), the durable queue in Postgres and the work on it."""
