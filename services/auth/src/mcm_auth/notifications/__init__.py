"""Outbound email and SMS: templates, a durable send queue, delivery, preferences and the
`notification.requested` consumer."""
