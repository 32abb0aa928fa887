"""SQL of the read model: upserts from bus messages, and the questions access rules ask."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_messaging.audience.models import CircleSeat, EventSeat, KnownUser


class AudienceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- writes (bus) --------------------------------------------------------------------------
    async def upsert_user(self, user_id: uuid.UUID, roles: list[str], active: bool) -> None:
        statement = insert(KnownUser).values(user_id=user_id, roles=roles, active=active)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[KnownUser.user_id],
                set_={"roles": statement.excluded.roles, "active": statement.excluded.active, "updated_at": func.now()},
                where=KnownUser.erased_at.is_(None),
            )
        )

    async def erase_user(self, user_id: uuid.UUID, erased_at: datetime) -> None:
        statement = insert(KnownUser).values(user_id=user_id, roles=[], active=False, erased_at=erased_at)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[KnownUser.user_id],
                set_={"roles": [], "active": False, "erased_at": erased_at, "updated_at": func.now()},
            )
        )
        await self.session.execute(
            update(CircleSeat)
            .where(CircleSeat.user_id == user_id, CircleSeat.ended_at.is_(None))
            .values(ended_at=erased_at)
        )
        await self.session.execute(
            update(EventSeat)
            .where(EventSeat.user_id == user_id, EventSeat.ended_at.is_(None))
            .values(ended_at=erased_at)
        )

    async def start_circle_seat(
        self, membership_id: uuid.UUID, circle_id: uuid.UUID, user_id: uuid.UUID, role: str, started_at: datetime
    ) -> None:
        # A seat already known (redelivery, or its end arrived first) stays as it is.
        await self.session.execute(
            insert(CircleSeat)
            .values(membership_id=membership_id, circle_id=circle_id, user_id=user_id, role=role, started_at=started_at)
            .on_conflict_do_nothing()
        )

    async def end_circle_seat(
        self, membership_id: uuid.UUID, circle_id: uuid.UUID, user_id: uuid.UUID, ended_at: datetime
    ) -> None:
        statement = insert(CircleSeat).values(
            membership_id=membership_id, circle_id=circle_id, user_id=user_id, role="member", ended_at=ended_at
        )
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[CircleSeat.membership_id],
                set_={"ended_at": func.coalesce(CircleSeat.ended_at, statement.excluded.ended_at)},
            )
        )

    async def start_event_seat(
        self, registration_id: uuid.UUID, event_id: uuid.UUID, user_id: uuid.UUID, confirmed_at: datetime
    ) -> None:
        await self.session.execute(
            insert(EventSeat)
            .values(registration_id=registration_id, event_id=event_id, user_id=user_id, confirmed_at=confirmed_at)
            .on_conflict_do_nothing()
        )

    async def end_event_seat(
        self, registration_id: uuid.UUID, event_id: uuid.UUID, user_id: uuid.UUID, ended_at: datetime
    ) -> None:
        statement = insert(EventSeat).values(
            registration_id=registration_id, event_id=event_id, user_id=user_id, ended_at=ended_at
        )
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[EventSeat.registration_id],
                set_={"ended_at": func.coalesce(EventSeat.ended_at, statement.excluded.ended_at)},
            )
        )

    # -- reads (access rules) ------------------------------------------------------------------
    async def known_user(self, user_id: uuid.UUID) -> KnownUser | None:
        return await self.session.get(KnownUser, user_id)

    async def circle_role(self, circle_id: uuid.UUID, user_id: uuid.UUID) -> str | None:
        """'facilitator' over 'member' when he holds both (a role change in flight); None if neither."""
        roles = set(
            await self.session.scalars(
                select(CircleSeat.role).where(
                    CircleSeat.circle_id == circle_id, CircleSeat.user_id == user_id, CircleSeat.ended_at.is_(None)
                )
            )
        )
        if "facilitator" in roles:
            return "facilitator"
        return "member" if roles else None

    async def circles_of(self, user_id: uuid.UUID) -> dict[uuid.UUID, str]:
        """His current circles and his role in each (facilitator wins)."""
        rows = await self.session.execute(
            select(CircleSeat.circle_id, CircleSeat.role).where(
                CircleSeat.user_id == user_id, CircleSeat.ended_at.is_(None)
            )
        )
        found: dict[uuid.UUID, str] = {}
        for circle_id, role in rows:
            if found.get(circle_id) != "facilitator":
                found[circle_id] = role
        return found

    async def is_registrant(self, event_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        found = await self.session.scalar(
            select(EventSeat.registration_id)
            .where(EventSeat.event_id == event_id, EventSeat.user_id == user_id, EventSeat.ended_at.is_(None))
            .limit(1)
        )
        return found is not None

    async def events_of(self, user_id: uuid.UUID) -> list[uuid.UUID]:
        return list(
            await self.session.scalars(
                select(EventSeat.event_id).where(EventSeat.user_id == user_id, EventSeat.ended_at.is_(None)).distinct()
            )
        )

    # -- who hears what (real-time fan-out) ----------------------------------------------------
    async def people_of_circle(self, circle_id: uuid.UUID) -> list[uuid.UUID]:
        return list(
            await self.session.scalars(
                select(CircleSeat.user_id)
                .where(CircleSeat.circle_id == circle_id, CircleSeat.ended_at.is_(None))
                .distinct()
            )
        )

    async def registrants_of(self, event_id: uuid.UUID) -> list[uuid.UUID]:
        return list(
            await self.session.scalars(
                select(EventSeat.user_id).where(EventSeat.event_id == event_id, EventSeat.ended_at.is_(None)).distinct()
            )
        )

    async def active_users(self, role: str | None = None) -> list[uuid.UUID]:
        query = select(KnownUser.user_id).where(KnownUser.active.is_(True), KnownUser.erased_at.is_(None))
        if role is not None:
            query = query.where(KnownUser.roles.contains([role]))
        return list(await self.session.scalars(query))
