"""SQL for user administration: search and the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_auth.accounts.models import User
from mcm_auth.roles.models import AuditEntry
from mcm_shared.security import Role


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class AdminRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def search(
        self, *, email: str | None, role: str | None, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[User]:
        """Newest first, keyset-paginated on (created_at, id)."""
        statement = select(User).where(User.erased_at.is_(None))
        if email:
            statement = statement.where(User.email.ilike(f"%{_escape_like(email)}%", escape="\\"))
        if role:
            statement = statement.where(User.roles.contains([role]))
        if after is not None:
            created, last_id = after
            statement = statement.where(
                or_(User.created_at < created, and_(User.created_at == created, User.id < last_id))
            )
        statement = statement.order_by(User.created_at.desc(), User.id.desc()).limit(limit + 1)
        return list(await self.session.scalars(statement))

    async def count_active_admins(self) -> int:
        count = await self.session.scalar(
            select(func.count())
            .select_from(User)
            .where(User.roles.contains([Role.ADMIN.value]), User.disabled_at.is_(None), User.erased_at.is_(None))
        )
        return count or 0  # count() always yields a row

    async def lock_admins(self) -> None:
        """Serialise changes that could remove the last admin (two admins demoting each other)."""
        await self.session.execute(
            select(User.id).where(User.roles.contains([Role.ADMIN.value])).order_by(User.id).with_for_update()
        )

    def audit(self, entry: AuditEntry) -> None:
        self.session.add(entry)

    async def audit_for(
        self, subject_id: uuid.UUID, *, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[AuditEntry]:
        statement = select(AuditEntry).where(AuditEntry.subject_id == subject_id)
        if after is not None:
            created, last_id = after
            statement = statement.where(
                or_(AuditEntry.created_at < created, and_(AuditEntry.created_at == created, AuditEntry.id < last_id))
            )
        statement = statement.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()).limit(limit + 1)
        return list(await self.session.scalars(statement))
