"""Revoking sessions: mark them in the database and tell the gateway at once.

The gateway learns of a revocation through `mcm_shared.revocation.publish_revocation` (a sorted
set plus a pub/sub message) and refuses the session's access tokens within a second. We publish
before committing: if Redis is down the whole use case fails with 503 and nothing changes, and
if the commit then failed the session would be dead at the gateway anyway (the safe side).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_auth.sessions.models import Session
from mcm_auth.sessions.repository import SessionRepository
from mcm_shared.revocation import publish_revocation


async def publish(redis: Redis, sessions: list[Session]) -> None:
    for record in sessions:
        await publish_revocation(redis, record.id, record.access_expires_at)


async def revoke_sessions(
    session: AsyncSession,
    redis: Redis,
    user_id: uuid.UUID,
    reason: str,
    *,
    only: uuid.UUID | None = None,
    keep: uuid.UUID | None = None,
) -> list[Session]:
    """Revoke within the caller's transaction and publish; the caller commits."""
    revoked = await SessionRepository(session).revoke(user_id, datetime.now(UTC), reason, only=only, keep=keep)
    await publish(redis, revoked)
    return revoked
