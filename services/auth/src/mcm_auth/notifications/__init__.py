"""Notification preferences and the `notification.requested` consumer: which of a user's proven
channels may carry what other services ask to send (the sending itself is mcm_auth.outbox)."""
