"""SQL for sessions and refresh tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_auth.sessions.models import RefreshToken, Session


class SessionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, record: Session, token_hash: str, now: datetime) -> None:
        self.session.add(record)
        await self.session.flush()
        self.session.add(RefreshToken(token_hash=token_hash, session_id=record.id, issued_at=now))

    async def claim_refresh_token(self, token_hash: str, now: datetime) -> uuid.UUID | None:
        """Mark the token used, atomically: of two concurrent claims exactly one gets the row."""
        result = await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.token_hash == token_hash, RefreshToken.rotated_at.is_(None))
            .values(rotated_at=now)
            .returning(RefreshToken.session_id)
        )
        return result.scalar_one_or_none()

    async def rotated_token_session(self, token_hash: str) -> uuid.UUID | None:
        return await self.session.scalar(select(RefreshToken.session_id).where(RefreshToken.token_hash == token_hash))

    async def add_refresh_token(self, session_id: uuid.UUID, token_hash: str, now: datetime) -> None:
        self.session.add(RefreshToken(token_hash=token_hash, session_id=session_id, issued_at=now))

    async def get_for_update(self, session_id: uuid.UUID) -> Session | None:
        return await self.session.scalar(select(Session).where(Session.id == session_id).with_for_update())

    async def get(self, session_id: uuid.UUID) -> Session | None:
        return await self.session.get(Session, session_id)

    async def recent_for_user(self, user_id: uuid.UUID, limit: int) -> list[Session]:
        rows = await self.session.scalars(
            select(Session).where(Session.user_id == user_id).order_by(Session.created_at.desc()).limit(limit)
        )
        return list(rows)

    async def active_for_user(self, user_id: uuid.UUID, now: datetime) -> list[Session]:
        rows = await self.session.scalars(
            select(Session)
            .where(Session.user_id == user_id, Session.revoked_at.is_(None), Session.expires_at > now)
            .order_by(Session.last_used_at.desc())
        )
        return list(rows)

    async def revoke(
        self,
        user_id: uuid.UUID,
        now: datetime,
        reason: str,
        *,
        only: uuid.UUID | None = None,
        keep: uuid.UUID | None = None,
    ) -> list[Session]:
        """Revoke the user's live sessions (or just `only`, or all but `keep`); returns them."""
        statement = (
            update(Session)
            .where(Session.user_id == user_id, Session.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason=reason)
            .returning(Session)
        )
        if only is not None:
            statement = statement.where(Session.id == only)
        if keep is not None:
            statement = statement.where(Session.id != keep)
        result = await self.session.scalars(statement, execution_options={"synchronize_session": False})
        return list(result)
