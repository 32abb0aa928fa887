"""Consumed from auth (stream `events:auth`): user.registered, user.updated, user.erased.

Handlers run inside the consumer's transaction (with its inbox row) and never commit.
Erasure anonymises the profile here; the other packages' part (memberships, transfers, meetings,
goals) is composed by `mcm_circles.consumers.on_user_erased` from their service functions.
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.profiles import service
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


async def on_user_erased(session: AsyncSession, envelope: Envelope) -> uuid.UUID | None:
    """Anonymise the profile; the user id when that happened now (the other packages then forget
    him, see `consumers.on_user_erased`), None when there is nothing (more) to do."""
    user_id = _user_id(envelope)
    if user_id is None or not await service.anonymise(session, user_id, envelope.occurred_at):
        return None
    return user_id
