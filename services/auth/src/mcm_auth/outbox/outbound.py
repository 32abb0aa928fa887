"""Queueing messages: a row in the caller's transaction, then a nudge to the delivery worker."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_auth.outbox.models import OutboundMessage
from mcm_auth.outbox.templates import render_email, render_sms


class Outbound:
    def __init__(self) -> None:
        # Set when something is queued, so the worker sends at once instead of at its next poll.
        self.wake = asyncio.Event()

    async def queue_email(self, session: AsyncSession, to: str, template: str, data: dict[str, Any]) -> None:
        subject, body = render_email(template, data)
        session.add(
            OutboundMessage(
                id=uuid.uuid4(), channel="email", recipient=to, template=template, subject=subject, body=body
            )
        )
        await session.flush()
        self.wake.set()

    async def queue_sms(self, session: AsyncSession, to: str, template: str, data: dict[str, Any]) -> None:
        body = render_sms(template, data)
        session.add(OutboundMessage(id=uuid.uuid4(), channel="sms", recipient=to, template=template, body=body))
        await session.flush()
        self.wake.set()
