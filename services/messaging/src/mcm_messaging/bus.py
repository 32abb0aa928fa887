"""Event bus wiring: what messaging consumes and from where.

Consumes `events:auth` (who holds which roles) and `events:circles` (memberships, registrations)
as consumer group `messaging`, applying each message exactly once through the inbox. A new group
starts at the beginning of each stream (mcm_shared.events.groups.create_group), so the first
start replays the history the streams still hold: that is the backfill (docs/messaging.md says
what it cannot see). Also `events:payments` (payment failed, dues overdue) for the notification
centre, and circles' meeting messages for the reminders' agenda. Messaging publishes
`notification.requested` (outbox.py) for auth to email or text.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_messaging.audience import service as audience
from mcm_messaging.notifications import intake
from mcm_messaging.notifications import service as notifications
from mcm_messaging.reminders import service as reminders
from mcm_messaging.runtime import MessagingRuntime
from mcm_shared.events import Envelope, Handler

CONSUMED: dict[str, Handler] = {
    # events:auth
    "user.registered": audience.on_user_changed,
    "user.updated": audience.on_user_changed,
    "user.erased": audience.on_user_erased,
    # events:circles
    "membership.started": audience.on_membership_started,
    "membership.ended": audience.on_membership_ended,
    "registration.confirmed": audience.on_registration_confirmed,
    "registration.cancelled": audience.on_registration_ended,
    "registration.expired": audience.on_registration_ended,
}


def _both(*steps: Handler) -> Handler:
    async def handle(session: AsyncSession, envelope: Envelope) -> None:
        for step in steps:
            await step(session, envelope)

    return handle


def handlers(runtime: MessagingRuntime) -> dict[str, Handler]:
    """Read model, notification centre and agenda; a message several of them need runs through
    each in order, in one transaction."""
    found = dict(CONSUMED)
    notices = intake.handlers(runtime)

    async def user_updated(session: AsyncSession, envelope: Envelope) -> None:
        before = await audience.roles_of(session, envelope)
        await audience.on_user_changed(session, envelope)
        if before is not None:
            await intake.roles_granted(session, runtime, envelope, before)

    found["user.updated"] = user_updated
    found["user.erased"] = _both(audience.on_user_erased, notifications.on_user_erased)
    for event_type in ("meeting.scheduled", "meeting.rescheduled", "meeting.cancelled"):
        found[event_type] = _both(reminders.on_meetings, notices.pop(event_type))
    found.update(notices)
    return found
