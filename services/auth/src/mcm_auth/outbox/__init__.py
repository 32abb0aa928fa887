"""Outbound email and SMS: templates, the durable send queue (a row written in the caller's
transaction) and the worker that delivers it. Knows addresses, not accounts: who may be told
what is decided above it (notifications, and each use case)."""
