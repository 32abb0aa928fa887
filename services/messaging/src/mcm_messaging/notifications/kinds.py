"""The kinds of entry the centre knows: the auth template that words the email/SMS, and how soon
it goes out. Urgent kinds are emailed at once; timely ones (reminders) too, since a late reminder
is useless; the rest only when the member has not read the entry in the app within
`NOTIFICATION_EMAIL_DELAY_SECONDS`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Email(StrEnum):
    AT_ONCE = "at_once"
    IF_UNREAD = "if_unread"  # after the configured delay, only if still unread
    NEVER = "never"


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    template: str  # auth's template (services/auth/src/mcm_auth/outbox/templates.py)
    email: Email


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("waitlist_promoted", "waitlist_promoted", Email.IF_UNREAD),
        Kind("meeting_scheduled", "circle.meeting_scheduled", Email.IF_UNREAD),
        Kind("meeting_rescheduled", "circle.meeting_rescheduled", Email.IF_UNREAD),
        Kind("meeting_cancelled", "circle.meeting_cancelled", Email.IF_UNREAD),
        Kind("payment_failed", "payment_failed", Email.AT_ONCE),
        Kind("dues_overdue", "dues_overdue", Email.IF_UNREAD),
        # A declined transfer is worded by circle.transfer_declined (the entry names it).
        Kind("transfer_decided", "circle.transfer_approved", Email.IF_UNREAD),
        Kind("role_granted", "role_granted", Email.IF_UNREAD),
        Kind("meeting_reminder", "meeting_reminder", Email.AT_ONCE),
    )
}
