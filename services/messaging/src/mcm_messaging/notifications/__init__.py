"""The notification centre: the one place that decides how a member hears of something. Other
services publish what happened; this package records it in his in-app inbox, pushes it to his
sockets and asks auth for email/SMS (`notification.requested`) at once for urgent kinds, otherwise
only when he has not read it in the app within `NOTIFICATION_EMAIL_DELAY_SECONDS`."""
