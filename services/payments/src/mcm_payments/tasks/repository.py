"""SQL for the Stripe task queue: enqueue in the caller's transaction, lease due tasks."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_payments.tasks.models import StripeTask

LEASE = timedelta(seconds=60)
# `session.info` key set when a Stripe task was added to the session's transaction.
TASKS_ENQUEUED = "mcm_payments.stripe_tasks_enqueued"


class TaskRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def enqueue(
        self, kind: str, target: str, *, obligation_id: uuid.UUID | None = None, params: dict[str, Any] | None = None
    ) -> StripeTask:
        task = StripeTask(id=uuid.uuid4(), kind=kind, target=target, params=params or {}, obligation_id=obligation_id)
        self.session.add(task)
        self.session.info[TASKS_ENQUEUED] = True  # whoever commits this session wakes the worker (bus.py)
        return task

    async def lease(self, limit: int, task_id: uuid.UUID | None = None) -> Sequence[StripeTask]:
        """Claim due tasks for `LEASE` (commit right after): a crashed worker's lease runs out."""
        due = (
            select(StripeTask.id)
            .where(StripeTask.status == "pending", StripeTask.next_attempt_at <= func.now())
            .order_by(StripeTask.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if task_id is not None:
            due = due.where(StripeTask.id == task_id)
        statement = (
            update(StripeTask)
            .where(StripeTask.id.in_(due.scalar_subquery()))
            .values(attempts=StripeTask.attempts + 1, next_attempt_at=func.now() + LEASE)
            .returning(StripeTask)
        )
        return (await self.session.scalars(statement.execution_options(populate_existing=True))).all()

    async def finish(self, task_id: uuid.UUID, status: str = "done", error: str | None = None) -> None:
        await self.session.execute(
            update(StripeTask)
            .where(StripeTask.id == task_id)
            .values(status=status, done_at=func.now(), last_error=error)
        )

    async def retry_later(self, task_id: uuid.UUID, delay: timedelta, error: str) -> None:
        await self.session.execute(
            update(StripeTask)
            .where(StripeTask.id == task_id)
            .values(next_attempt_at=func.now() + delay, last_error=error[:1000])
        )

    async def pending_for(self, obligation_id: uuid.UUID) -> Sequence[StripeTask]:
        return (
            await self.session.scalars(
                select(StripeTask).where(StripeTask.obligation_id == obligation_id, StripeTask.status == "pending")
            )
        ).all()
