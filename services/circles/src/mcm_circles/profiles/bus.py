"""Consumed from auth (stream `events:auth`): user.registered, user.updated, user.erased.

Handlers run inside the consumer's transaction (with its inbox row) and never commit.
Erasure anonymises the profile, ends his current memberships (seats free up, payments is told
through `membership.ended`), cancels his pending transfer requests, and removes the words about
him (private attendance notes, goal titles) while every row — and so every count and rate — stays.
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.circles.repository import CircleRepository
from mcm_circles.clock import utcnow
from mcm_circles.goals.repository import GoalRepository
from mcm_circles.meetings.repository import MeetingRepository
from mcm_circles.memberships import lifecycle
from mcm_circles.memberships.repository import MembershipRepository
from mcm_circles.profiles import service
from mcm_circles.transfers.repository import TransferRepository
from mcm_shared.events.envelope import Envelope

logger = logging.getLogger("mcm.circles.profiles")


def _user_id(envelope: Envelope) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(envelope.payload["user_id"]))
    except (KeyError, ValueError):
        logger.warning("user event without a valid user_id ignored", extra={"event_id": str(envelope.id)})
        return None


async def on_user_changed(session: AsyncSession, envelope: Envelope) -> None:
    user_id = _user_id(envelope)
    if user_id is not None:
        await service.apply_user_fields(session, user_id, envelope.payload, envelope.occurred_at)


async def on_user_erased(session: AsyncSession, envelope: Envelope) -> None:
    user_id = _user_id(envelope)
    if user_id is None or not await service.anonymise(session, user_id, envelope.occurred_at):
        return
    memberships = MembershipRepository(session)
    circles = await CircleRepository(session).lock_many(
        m.circle_id for m in await memberships.current_for_user(user_id)
    )
    for membership in await memberships.current_for_user(user_id):  # re-read under the locks
        circle = circles.get(membership.circle_id)
        if circle is not None:
            await lifecycle.finish(session, circle, membership, reason="account_erased")
    now = utcnow()
    for request in await TransferRepository(session).pending_involving(user_id=user_id):
        request.status, request.decided_at, request.decision_note = "cancelled", now, "account erased"
    await MeetingRepository(session).anonymise_user(user_id)
    await GoalRepository(session).anonymise_user(user_id)
    await session.flush()
