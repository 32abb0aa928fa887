"""Read-only queries over one person's rows in every circles table (overview and export).

Reads only: every change to these rows stays with the package that owns them (erasure goes
through each package's service, see `mcm_circles.consumers.on_user_erased`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.circles.models import Circle
from mcm_circles.events.models import Event, EventStaff, Registration
from mcm_circles.goals.models import Goal
from mcm_circles.meetings.models import Attendance, Meeting
from mcm_circles.memberships.models import Membership
from mcm_circles.profiles.models import Profile
from mcm_circles.transfers.models import TransferRequest


class PersonRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def profile(self, user_id: uuid.UUID) -> Profile | None:
        return await self.session.get(Profile, user_id)

    async def memberships(self, user_id: uuid.UUID) -> Sequence[Row[Membership, str]]:
        query = (
            select(Membership, Circle.name)
            .join(Circle, Circle.id == Membership.circle_id)
            .where(Membership.user_id == user_id)
            .order_by(Membership.created_at)
        )
        return (await self.session.execute(query)).all()

    async def registrations(self, user_id: uuid.UUID) -> Sequence[Row[Registration, str]]:
        query = (
            select(Registration, Event.title)
            .join(Event, Event.id == Registration.event_id)
            .where(Registration.user_id == user_id)
            .order_by(Registration.created_at)
        )
        return (await self.session.execute(query)).all()

    async def attendance(self, user_id: uuid.UUID) -> Sequence[Row[Attendance, datetime]]:
        query = (
            select(Attendance, Meeting.starts_at)
            .join(Meeting, Meeting.id == Attendance.meeting_id)
            .where(Attendance.user_id == user_id)
            .order_by(Meeting.starts_at)
        )
        return (await self.session.execute(query)).all()

    async def goals(self, user_id: uuid.UUID) -> Sequence[Goal]:
        query = select(Goal).where(Goal.user_id == user_id).order_by(Goal.period_start, Goal.created_at)
        return (await self.session.scalars(query)).all()

    async def transfer_requests(self, user_id: uuid.UUID) -> Sequence[TransferRequest]:
        query = select(TransferRequest).where(TransferRequest.user_id == user_id).order_by(TransferRequest.created_at)
        return (await self.session.scalars(query)).all()

    async def event_staff(self, user_id: uuid.UUID) -> Sequence[EventStaff]:
        query = select(EventStaff).where(EventStaff.user_id == user_id)
        return (await self.session.scalars(query)).all()
