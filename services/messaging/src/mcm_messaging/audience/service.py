"""The read model's use cases: apply what auth and circles announced, and answer who belongs where.

Handlers run inside the bus consumer's transaction and never commit (mcm_shared.events).
Other packages ask through the functions below, never through the repository.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_messaging.audience.models import CIRCLE_ROLES
from mcm_messaging.audience.repository import AudienceRepository
from mcm_shared.events import Envelope


def _uuid(payload: dict[str, Any], key: str) -> uuid.UUID:
    return uuid.UUID(str(payload[key]))


def _time(payload: dict[str, Any], key: str, envelope: Envelope) -> datetime:
    """The payload's timestamp, or when the message was written (older producers send none)."""
    value = payload.get(key)
    if value:
        parsed = datetime.fromisoformat(str(value))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return envelope.occurred_at


# -- bus handlers ------------------------------------------------------------------------------
async def on_user_changed(session: AsyncSession, envelope: Envelope) -> None:
    """`user.registered` / `user.updated`: his roles and whether the account is active."""
    payload = envelope.payload
    roles = [str(role) for role in payload.get("roles") or []]
    await AudienceRepository(session).upsert_user(_uuid(payload, "user_id"), roles, bool(payload.get("active", True)))


async def on_user_erased(session: AsyncSession, envelope: Envelope) -> None:
    payload = envelope.payload
    await AudienceRepository(session).erase_user(_uuid(payload, "user_id"), _time(payload, "erased_at", envelope))


async def on_membership_started(session: AsyncSession, envelope: Envelope) -> None:
    payload = envelope.payload
    role = str(payload.get("role") or "member")
    if role not in CIRCLE_ROLES:
        return  # a role messaging does not know gives no access
    await AudienceRepository(session).start_circle_seat(
        _uuid(payload, "membership_id"),
        _uuid(payload, "circle_id"),
        _uuid(payload, "user_id"),
        role,
        _time(payload, "started_at", envelope),
    )


async def on_membership_ended(session: AsyncSession, envelope: Envelope) -> None:
    payload = envelope.payload
    await AudienceRepository(session).end_circle_seat(
        _uuid(payload, "membership_id"),
        _uuid(payload, "circle_id"),
        _uuid(payload, "user_id"),
        _time(payload, "ended_at", envelope),
    )


async def on_registration_confirmed(session: AsyncSession, envelope: Envelope) -> None:
    payload = envelope.payload
    await AudienceRepository(session).start_event_seat(
        _uuid(payload, "registration_id"),
        _uuid(payload, "event_id"),
        _uuid(payload, "user_id"),
        _time(payload, "confirmed_at", envelope),
    )


async def on_registration_ended(session: AsyncSession, envelope: Envelope) -> None:
    """`registration.cancelled` / `registration.expired`: no longer a registrant."""
    payload = envelope.payload
    await AudienceRepository(session).end_event_seat(
        _uuid(payload, "registration_id"),
        _uuid(payload, "event_id"),
        _uuid(payload, "user_id"),
        envelope.occurred_at,
    )


# -- questions ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Belonging:
    """Where a user currently belongs: his circles (with his role in each) and his events."""

    circles: dict[uuid.UUID, str]
    events: frozenset[uuid.UUID]

    def facilitates(self, circle_id: uuid.UUID) -> bool:
        return self.circles.get(circle_id) == "facilitator"


async def belonging(session: AsyncSession, user_id: uuid.UUID) -> Belonging:
    repository = AudienceRepository(session)
    return Belonging(
        circles=await repository.circles_of(user_id), events=frozenset(await repository.events_of(user_id))
    )


async def circle_role(session: AsyncSession, circle_id: uuid.UUID, user_id: uuid.UUID) -> str | None:
    return await AudienceRepository(session).circle_role(circle_id, user_id)


async def is_registrant(session: AsyncSession, event_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    return await AudienceRepository(session).is_registrant(event_id, user_id)


@dataclass(frozen=True, slots=True)
class KnownPerson:
    user_id: uuid.UUID
    roles: frozenset[str]


async def reachable_user(session: AsyncSession, user_id: uuid.UUID) -> KnownPerson | None:
    """A user auth announced and who is neither disabled nor erased; None otherwise."""
    user = await AudienceRepository(session).known_user(user_id)
    if user is None or not user.active or user.erased_at is not None:
        return None
    return KnownPerson(user_id=user.user_id, roles=frozenset(user.roles))


async def people_of_circle(session: AsyncSession, circle_id: uuid.UUID) -> list[uuid.UUID]:
    """The circle's current members and facilitators."""
    return await AudienceRepository(session).people_of_circle(circle_id)


async def registrants_of(session: AsyncSession, event_id: uuid.UUID) -> list[uuid.UUID]:
    return await AudienceRepository(session).registrants_of(event_id)


async def active_users(session: AsyncSession, role: str | None = None) -> list[uuid.UUID]:
    """Every active user auth announced (holding `role`, when given)."""
    return await AudienceRepository(session).active_users(role)


async def roles_of(session: AsyncSession, envelope: Envelope) -> frozenset[str] | None:
    """The roles the read model holds for the message's user before applying it (None: unknown)."""
    user = await AudienceRepository(session).known_user(_uuid(envelope.payload, "user_id"))
    return frozenset(user.roles) if user is not None else None
