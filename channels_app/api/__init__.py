"""The server API of the channels (API-key authentication, scoped to the key's space)."""
