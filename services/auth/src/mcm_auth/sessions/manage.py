"""The signed-in user's own sessions: list them, end one, end this one, end all."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_auth.runtime import AuthRuntime
from mcm_auth.sessions.errors import SessionNotFound
from mcm_auth.sessions.repository import SessionRepository
from mcm_auth.sessions.revocation import revoke_sessions
from mcm_auth.sessions.schemas import SessionInfo


async def list_sessions(
    session: AsyncSession, runtime: AuthRuntime, *, user_id: uuid.UUID, current: uuid.UUID
) -> list[SessionInfo]:
    now = datetime.now(UTC)
    idle = timedelta(seconds=runtime.settings.refresh_idle_ttl_seconds)
    rows = await SessionRepository(session).active_for_user(user_id, now)
    return [
        SessionInfo(
            id=row.id,
            user_agent=row.user_agent,
            ip_address=row.ip_address,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            expires_at=min(row.expires_at, row.last_used_at + idle),
            current=row.id == current,
        )
        for row in rows
        if row.last_used_at + idle > now or row.id == current
    ]


async def end_session(
    session: AsyncSession, runtime: AuthRuntime, *, user_id: uuid.UUID, session_id: uuid.UUID
) -> None:
    """End one of the user's sessions; someone else's session is a 404, like a missing one."""
    revoked = await revoke_sessions(session, runtime.redis, user_id, "logout", only=session_id)
    if not revoked:
        record = await SessionRepository(session).get(session_id)
        if record is None or record.user_id != user_id:
            raise SessionNotFound("No such session.")
    await session.commit()


async def end_all(session: AsyncSession, runtime: AuthRuntime, *, user_id: uuid.UUID) -> int:
    revoked = await revoke_sessions(session, runtime.redis, user_id, "logout_all")
    await session.commit()
    return len(revoked)


async def recent_sessions(session: AsyncSession, *, user_id: uuid.UUID, limit: int = 50) -> list[dict[str, object]]:
    """For support: his latest sessions, ended ones included (device, created, last used,
    revoked); addresses are left out, support needs none to help him."""
    rows = await SessionRepository(session).recent_for_user(user_id, limit)
    return [
        {
            "id": row.id,
            "device": row.user_agent,
            "created_at": row.created_at,
            "last_used_at": row.last_used_at,
            "revoked_at": row.revoked_at,
            "revoked_reason": row.revoked_reason,
        }
        for row in rows
    ]
