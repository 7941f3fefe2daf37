"""YClients webhooks: the receiver (ASGI) and the durable inbox it writes to."""
