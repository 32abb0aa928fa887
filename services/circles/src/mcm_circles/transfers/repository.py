"""SQL for transfer requests."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.profiles.models import ERASED_NAME, Profile
from mcm_circles.transfers.models import TransferRequest


class TransferRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def anonymise_user(self, user_id: uuid.UUID) -> None:
        """Erasure: his message and the staff's note on his request go; the requests stay."""
        await self.session.execute(
            update(TransferRequest).where(TransferRequest.user_id == user_id).values(message="", decision_note=None)
        )

    async def add(self, request: TransferRequest) -> TransferRequest:
        self.session.add(request)
        await self.session.flush()
        return request

    async def get(self, request_id: uuid.UUID, *, lock: bool = False) -> TransferRequest | None:
        stmt = select(TransferRequest).where(TransferRequest.id == request_id).execution_options(populate_existing=True)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def display_name(self, user_id: uuid.UUID) -> str:
        row = (
            await self.session.execute(
                select(Profile.display_name, Profile.erased_at).where(Profile.user_id == user_id)
            )
        ).one()
        return ERASED_NAME if row[1] else row[0]

    async def page_for_circle(
        self,
        circle_id: uuid.UUID,
        *,
        incoming: bool,
        status: str | None,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[tuple[TransferRequest, str]]:
        column = TransferRequest.to_circle_id if incoming else TransferRequest.from_circle_id
        stmt = (
            select(TransferRequest, Profile.display_name, Profile.erased_at)
            .join(Profile, Profile.user_id == TransferRequest.user_id)
            .where(column == circle_id)
        )
        if status:
            stmt = stmt.where(TransferRequest.status == status)
        if after is not None:
            stmt = stmt.where(tuple_(TransferRequest.created_at, TransferRequest.id) > tuple_(*after))
        stmt = stmt.order_by(TransferRequest.created_at, TransferRequest.id).limit(limit + 1)
        return [(t, ERASED_NAME if erased else name) for t, name, erased in await self.session.execute(stmt)]

    async def pending_involving(
        self, *, circle_id: uuid.UUID | None = None, user_id: uuid.UUID | None = None
    ) -> list[TransferRequest]:
        stmt = select(TransferRequest).where(TransferRequest.status == "pending")
        if circle_id is not None:
            stmt = stmt.where(
                or_(TransferRequest.from_circle_id == circle_id, TransferRequest.to_circle_id == circle_id)
            )
        if user_id is not None:
            stmt = stmt.where(TransferRequest.user_id == user_id)
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return list((await self.session.execute(stmt)).scalars())
