"""App Messaging: conversations, participants, messages, status updates, the event log and
the socket that relays events (the Comapi SDK's conversation surface)."""
