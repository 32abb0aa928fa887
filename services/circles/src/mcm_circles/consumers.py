"""The service's one consumer of other services' events (one consumer group,
`MEMBERS_CONSUMER_GROUP`) and its handler table: each message is dispatched by event type (and,
for payments' obligations, by the kind of thing paid for) to the bus module of the package that
owns the reaction.

- events:auth `user.registered`, `user.updated` -> profiles.bus.on_user_changed
- events:auth `user.erased` -> on_user_erased (profiles first, then each package's service function)
- events:auth `invitation.accepted` -> on_invitation_accepted (a circle's membership or an event's staff)
- events:payments `obligation.settled|overdue|paused|waived`, kind membership (or none)
  -> memberships.payments.apply_payment_event
- events:payments `obligation.settled|overdue`, kind registration -> events.registrations.bus
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.clock import Clock
from mcm_circles.config import EventsSettings
from mcm_circles.events.registrations import bus as registrations_bus
from mcm_circles.events.registrations import service as registrations
from mcm_circles.events.staff import service as event_staff
from mcm_circles.goals import service as goals
from mcm_circles.meetings import service as meetings
from mcm_circles.memberships import lifecycle as memberships
from mcm_circles.memberships.payments import STATUS_OF_EVENT, apply_payment_event
from mcm_circles.outbox import notify
from mcm_circles.profiles import bus as profiles_bus
from mcm_circles.profiles import service as profiles
from mcm_circles.transfers import service as transfers
from mcm_shared.events import Envelope, Handler

logger = logging.getLogger("mcm.circles.consumers")

REGISTRATION = "registration"


async def on_user_erased(session: AsyncSession, envelope: Envelope) -> None:
    """Erasure: the profile is anonymised, his current memberships end (seats free up, payments is
    told through `membership.ended`), his pending transfer requests are cancelled, and the words
    by or about him (private attendance notes, goal titles, registration answers and declared
    birth dates, transfer messages and decision notes, membership end notes) go while every row,
    so every count, stays. docs/privacy.md lists each field."""
    user_id = await profiles_bus.on_user_erased(session, envelope)
    if user_id is None:
        return
    await memberships.end_all_for_erased_user(session, user_id)
    await transfers.cancel_pending_for_erased_user(session, user_id)
    await transfers.anonymise_user(session, user_id)
    await meetings.anonymise_user(session, user_id)
    await goals.anonymise_user(session, user_id)
    await registrations.anonymise_user(session, user_id)
    await session.flush()


def _uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


async def on_invitation_accepted(session: AsyncSession, envelope: Envelope) -> None:
    """Auth's `invitation.accepted`: the invited person joins the circle (active, or pending when
    it is full, and is told so) or the event's staff (as ptm). Re-delivery changes nothing."""
    payload = envelope.payload
    user_id = _uuid(payload.get("user_id"))
    circle_id, event_id = _uuid(payload.get("circle_id")), _uuid(payload.get("event_id"))
    invited_by = _uuid(payload.get("invited_by"))
    if user_id is None:
        logger.warning("invitation.accepted without a user id ignored", extra={"event_id": str(envelope.id)})
        return
    await profiles.ensure_exists(session, user_id)
    if circle_id is not None:
        # Only a bulk import invites facilitators; anything else joins as a member.
        role = "facilitator" if payload.get("circle_role") == "facilitator" else "member"
        outcome = await memberships.admit_invited(session, circle_id, user_id, invited_by=invited_by, role=role)
        if outcome == "pending":
            await notify(
                session,
                [user_id],
                "generic",
                {
                    "subject": "Your circle is full for now",
                    "message": "You accepted an invitation to a circle that is full at the moment. You are on its "
                    "list of requests, and its facilitators can admit you as soon as a seat frees up.",
                    "circle_id": str(circle_id),
                },
            )
        elif outcome is None:
            logger.warning("invitation.accepted for an unknown or archived circle", extra={"circle_id": str(circle_id)})
    elif event_id is not None and not await event_staff.add_invited_staff(
        session, event_id, user_id, invited_by=invited_by
    ):
        logger.warning("invitation.accepted for an unknown or closed event", extra={"event_id": str(event_id)})
    await session.flush()


def handlers(clock: Clock, events_settings: EventsSettings) -> dict[str, Handler]:
    """The consumer's handler table, bound to the runtime's clock and the events settings."""
    registration_handlers = (
        registrations_bus.handlers(clock, events_settings) if events_settings.consume_payments else {}
    )

    def obligation_handler(event_type: str) -> Handler:
        for_registration = registration_handlers.get(event_type)

        async def on_obligation(session: AsyncSession, envelope: Envelope) -> None:
            if envelope.payload.get("kind") == REGISTRATION:
                if for_registration is not None:
                    await for_registration(session, envelope)
                return  # registrations are not memberships, and no registration reacts to it
            await apply_payment_event(session, envelope)

        return on_obligation

    return {
        "user.registered": profiles_bus.on_user_changed,
        "user.updated": profiles_bus.on_user_changed,
        "user.erased": on_user_erased,
        "invitation.accepted": on_invitation_accepted,
        **{event_type: obligation_handler(event_type) for event_type in STATUS_OF_EVENT},
    }
