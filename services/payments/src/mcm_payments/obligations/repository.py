"""SQL for obligations and their audit trail."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_payments.obligations.models import TERMINAL, Obligation, ObligationAudit


def queue_since() -> ColumnElement[datetime]:
    """When the trouble started: overdue since, else when the obligation was created."""
    return func.coalesce(Obligation.overdue_since, Obligation.created_at)


class ObligationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_if_absent(self, **values: Any) -> Obligation | None:
        """Create an obligation unless one exists for (kind, source_id): events arrive twice."""
        statement = (
            insert(Obligation)
            .values(id=uuid.uuid4(), **values)
            .on_conflict_do_nothing(constraint="uq_obligations_kind_source")
            .returning(Obligation.id)
        )
        new_id = (await self.session.execute(statement)).scalar_one_or_none()
        return None if new_id is None else await self.get(new_id)

    async def get(self, obligation_id: uuid.UUID) -> Obligation | None:
        return await self.session.get(Obligation, obligation_id)

    async def lock(self, obligation_id: uuid.UUID) -> Obligation | None:
        """The obligation, row-locked: every change to one obligation happens one at a time."""
        return await self.session.scalar(
            select(Obligation)
            .where(Obligation.id == obligation_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    async def lock_by_source(self, kind: str, source_id: uuid.UUID) -> Obligation | None:
        return await self.session.scalar(
            select(Obligation)
            .where(Obligation.kind == kind, Obligation.source_id == source_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    async def lock_for_context(self, kind: str, context_id: uuid.UUID) -> Sequence[Obligation]:
        return (
            await self.session.scalars(
                select(Obligation)
                .where(Obligation.kind == kind, Obligation.context_id == context_id)
                .order_by(Obligation.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).all()

    async def open_recurring_of_user(self, user_id: uuid.UUID) -> Sequence[Obligation]:
        """The user's dues and instalment plans that are still collected (not waived or cancelled)."""
        return (
            await self.session.scalars(
                select(Obligation)
                .where(
                    Obligation.user_id == user_id,
                    Obligation.status.not_in(TERMINAL),
                    (Obligation.kind == "membership") | (Obligation.instalments > 1),
                )
                .order_by(Obligation.created_at)
            )
        ).all()

    async def list_for_user(
        self, user_id: uuid.UUID, limit: int, after: tuple[datetime, uuid.UUID] | None
    ) -> Sequence[Obligation]:
        query = select(Obligation).where(Obligation.user_id == user_id)
        if after:
            query = query.where(tuple_(Obligation.created_at, Obligation.id) < after)
        return (
            await self.session.scalars(
                query.order_by(Obligation.created_at.desc(), Obligation.id.desc()).limit(limit + 1)
            )
        ).all()

    async def queue(self, limit: int, after: tuple[datetime, uuid.UUID] | None) -> Sequence[Obligation]:
        """Overdue obligations and those flagged for attention, oldest trouble first."""
        query = select(Obligation).where(or_(Obligation.status == "overdue", Obligation.attention.is_not(None)))
        key = tuple_(queue_since(), Obligation.id)
        if after:
            query = query.where(key > after)
        return (await self.session.scalars(query.order_by(queue_since(), Obligation.id).limit(limit + 1))).all()

    async def paused_until_before(self, moment: datetime, limit: int = 50) -> Sequence[uuid.UUID]:
        return (
            await self.session.scalars(
                select(Obligation.id)
                .where(and_(Obligation.status == "paused", Obligation.paused_until <= moment))
                .order_by(Obligation.paused_until)
                .limit(limit)
            )
        ).all()

    def audit(
        self,
        obligation: Obligation,
        *,
        actor: str,
        action: str,
        actor_roles: Sequence[str] = (),
        reason: str | None = None,
        status_before: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> ObligationAudit:
        entry = ObligationAudit(
            id=uuid.uuid4(),
            obligation_id=obligation.id,
            actor=actor,
            actor_roles=sorted(actor_roles),
            action=action,
            reason=reason,
            status_before=status_before,
            status_after=obligation.status,
            data=data or {},
        )
        self.session.add(entry)
        return entry

    async def audit_trail(
        self, obligation_id: uuid.UUID, limit: int, after: tuple[datetime, uuid.UUID] | None
    ) -> Sequence[ObligationAudit]:
        query = select(ObligationAudit).where(ObligationAudit.obligation_id == obligation_id)
        if after:
            query = query.where(tuple_(ObligationAudit.created_at, ObligationAudit.id) > after)
        return (
            await self.session.scalars(query.order_by(ObligationAudit.created_at, ObligationAudit.id).limit(limit + 1))
        ).all()

    async def last_note(self, obligation_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, ObligationAudit]:
        if not obligation_ids:
            return {}
        rows = (
            await self.session.scalars(
                select(ObligationAudit)
                .where(ObligationAudit.obligation_id.in_(obligation_ids), ObligationAudit.action == "note")
                .order_by(ObligationAudit.obligation_id, ObligationAudit.created_at.desc())
                .distinct(ObligationAudit.obligation_id)
            )
        ).all()
        return {row.obligation_id: row for row in rows}
