"""SQL for verification codes."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_auth.verification.models import MAX_ATTEMPTS, VerificationCode


class CodeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def void_open(self, user_id: uuid.UUID, purpose: str, now: datetime) -> None:
        await self.session.execute(
            update(VerificationCode)
            .where(
                VerificationCode.user_id == user_id,
                VerificationCode.purpose == purpose,
                VerificationCode.consumed_at.is_(None),
            )
            .values(consumed_at=now)
        )

    async def add(self, code: VerificationCode) -> None:
        self.session.add(code)
        await self.session.flush()

    async def count_attempt(self, user_id: uuid.UUID, purpose: str, now: datetime) -> VerificationCode | None:
        """Spend one guess on the open code, atomically: the increment happens in one UPDATE
        under the row lock, so concurrent guesses can never exceed the limit between them."""
        open_code = (
            select(VerificationCode.id)
            .where(
                VerificationCode.user_id == user_id,
                VerificationCode.purpose == purpose,
                VerificationCode.consumed_at.is_(None),
                VerificationCode.expires_at > now,
            )
            .order_by(VerificationCode.created_at.desc())
            .limit(1)
            .scalar_subquery()
        )
        return await self.session.scalar(
            update(VerificationCode)
            .where(
                VerificationCode.id == open_code,
                VerificationCode.consumed_at.is_(None),
                VerificationCode.attempts < MAX_ATTEMPTS,
            )
            .values(attempts=VerificationCode.attempts + 1)
            .returning(VerificationCode),
            execution_options={"synchronize_session": False},
        )
