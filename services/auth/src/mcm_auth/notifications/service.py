"""Notification preferences and delivering what other services ask for.

A `notification.requested` event names recipients by user id only; auth looks up their
verified contact details and preferences and queues one message per allowed channel. It runs
inside the consumer's transaction, so the queued messages and the inbox row commit together.
"""

from __future__ import annotations

import logging
import uuid

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_auth.accounts import service as accounts
from mcm_auth.notifications.repository import PreferenceRepository
from mcm_auth.notifications.schemas import (
    TOPICS,
    NotificationRequested,
    Preferences,
    PreferencesUpdate,
    TopicPreference,
)
from mcm_auth.outbox.outbound import Outbound
from mcm_auth.outbox.templates import SECURITY_TEMPLATES, topic_of
from mcm_shared.events import Handler
from mcm_shared.events.envelope import Envelope

logger = logging.getLogger("mcm.auth.notifications")


async def get_preferences(session: AsyncSession, *, user_id: uuid.UUID) -> Preferences:
    stored = await PreferenceRepository(session).for_user(user_id)
    topics = []
    for topic in TOPICS:
        row = stored.get(topic)
        topics.append(TopicPreference(topic=topic, email=row.email if row else True, sms=row.sms if row else False))
    return Preferences(topics=topics)


async def set_preferences(session: AsyncSession, *, user_id: uuid.UUID, update: PreferencesUpdate) -> Preferences:
    repo = PreferenceRepository(session)
    for item in update.topics:
        await repo.upsert(user_id, item.topic, email=item.email, sms=item.sms)
    await session.commit()
    return await get_preferences(session, user_id=user_id)


def request_handler(outbound: Outbound) -> Handler:
    """The consumer handler for `notification.requested` (must not commit)."""

    async def handle(session: AsyncSession, envelope: Envelope) -> None:
        try:
            request = NotificationRequested.model_validate(envelope.payload)
        except ValidationError:
            logger.warning(
                "notification.requested with an unusable payload; skipped", extra={"event_id": str(envelope.id)}
            )
            return
        if request.template in SECURITY_TEMPLATES:
            logger.warning("other services may not send security templates", extra={"template": request.template})
            return
        await deliver(session, outbound, request)

    return handle


async def deliver(session: AsyncSession, outbound: Outbound, request: NotificationRequested) -> int:
    topic = topic_of(request.template)
    prefs = PreferenceRepository(session)
    queued = 0
    for user_id in dict.fromkeys(request.recipient_user_ids):
        user = await accounts.get_user(session, user_id)
        if user is None or not user.active:
            continue
        chosen = (await prefs.for_user(user.id)).get(topic)
        wants_email, wants_sms = (chosen.email, chosen.sms) if chosen else (True, False)
        data = {**request.data, "display_name": user.display_name}
        # Only proven channels: an unverified address may belong to someone else.
        if wants_email and user.email and user.email_verified_at is not None:
            await outbound.queue_email(session, user.email, request.template, data)
            queued += 1
        if wants_sms and user.phone and user.phone_verified_at is not None:
            await outbound.queue_sms(session, user.phone, request.template, data)
            queued += 1
    return queued
