"""The rules every membership change follows, whoever triggers it (join, approval, a facilitator,
a transfer, archiving, erasure). Callers hold the circle's row lock and commit.

Seats: only active members with role `member` take a seat (`circles.member_count`); co-facilitators
do not, and do not pay dues. The count changes in the same transaction as the membership, and
CHECK (member_count <= capacity_max) backs the Python check.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.circles import locking
from mcm_circles.circles.errors import CircleArchived
from mcm_circles.circles.models import Circle
from mcm_circles.clock import utcnow
from mcm_circles.memberships import bus
from mcm_circles.memberships.errors import CircleFull, LastFacilitator
from mcm_circles.memberships.models import CURRENT, Membership
from mcm_circles.memberships.repository import MembershipRepository

# Ending a membership for these reasons may leave a circle without a facilitator: nobody asked.
FORCED_REASONS = frozenset({"circle_archived", "account_erased"})


def takes_seat(membership: Membership) -> bool:
    return membership.status == "active" and membership.role == "member"


def ensure_open(circle: Circle) -> None:
    if circle.archived_at is not None:
        raise CircleArchived()


def ensure_seat(circle: Circle) -> None:
    if circle.member_count >= circle.capacity_max:
        raise CircleFull()


async def activate(
    session: AsyncSession,
    circle: Circle,
    membership: Membership,
    *,
    decided_by: uuid.UUID | None = None,
    new: bool = False,
) -> None:
    """Make a new or pending membership active, taking a seat when it is a member's; every
    membership that becomes active is announced (`membership.started`), whatever made it so."""
    ensure_open(circle)
    if membership.role == "member":
        ensure_seat(circle)
        circle.member_count += 1
    membership.status = "active"
    membership.joined_at = utcnow()
    membership.decided_by = decided_by
    needs_dues = membership.role == "member" and circle.dues_amount is not None
    membership.payment_status = "pending" if needs_dues else "not_required"
    if new:
        session.add(membership)
    await session.flush()
    await bus.started(session, membership)
    if needs_dues:
        await bus.payment_required(session, circle, membership)


async def start(
    session: AsyncSession,
    circle: Circle,
    user_id: uuid.UUID,
    *,
    role: str = "member",
    added_by: uuid.UUID | None = None,
) -> Membership:
    membership = Membership(
        id=uuid.uuid4(), circle_id=circle.id, user_id=user_id, role=role, status="pending", added_by=added_by
    )
    await activate(session, circle, membership, decided_by=added_by, new=True)
    return membership


async def ensure_not_last_facilitator(session: AsyncSession, circle: Circle, membership: Membership) -> None:
    if (
        membership.status == "active"
        and membership.role == "facilitator"
        and await MembershipRepository(session).count_active_facilitators(circle.id) <= 1
    ):
        raise LastFacilitator()


async def finish(
    session: AsyncSession,
    circle: Circle,
    membership: Membership,
    *,
    reason: str,
    note: str | None = None,
    decided_by: uuid.UUID | None = None,
) -> None:
    """End a current membership (history stays); frees the seat and tells payments."""
    if reason not in FORCED_REASONS:
        await ensure_not_last_facilitator(session, circle, membership)
    was_active = membership.status == "active"
    if takes_seat(membership):
        circle.member_count -= 1
    membership.status = "declined" if reason == "declined" else "ended"
    membership.ended_at = utcnow()
    membership.end_reason = reason
    membership.end_note = note
    membership.decided_by = decided_by
    membership.flagged_at = None
    await session.flush()
    if was_active:
        await bus.ended(session, membership)


async def end_all_for_erased_user(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Erasure: end every current membership of the user (seats free up, payments is told)."""
    memberships = MembershipRepository(session)
    circles = await locking.lock_many(session, (m.circle_id for m in await memberships.current_for_user(user_id)))
    for membership in await memberships.current_for_user(user_id):  # re-read under the locks
        circle = circles.get(membership.circle_id)
        if circle is not None:
            await finish(session, circle, membership, reason="account_erased")
    await memberships.anonymise_user(user_id)


async def current_in_circle(session: AsyncSession, circle_id: uuid.UUID) -> list[Membership]:
    """The circle's current (active or pending) memberships, locked for the caller's changes."""
    return await MembershipRepository(session).current_in_circle(circle_id)


async def get(session: AsyncSession, membership_id: uuid.UUID) -> Membership | None:
    return await MembershipRepository(session).get(membership_id)


async def current(
    session: AsyncSession, circle_id: uuid.UUID, user_id: uuid.UUID, *, statuses: Iterable[str] = CURRENT
) -> Membership | None:
    """The user's current membership in the circle (pending or active, or the given statuses)."""
    return await MembershipRepository(session).current(circle_id, user_id, statuses=statuses)


async def active_user_ids(session: AsyncSession, circle_id: uuid.UUID, *, role: str | None = None) -> list[uuid.UUID]:
    """The users with an active membership in the circle (of that role, if given)."""
    return await MembershipRepository(session).active_user_ids(circle_id, role=role)


async def admit_invited(
    session: AsyncSession,
    circle_id: uuid.UUID,
    user_id: uuid.UUID,
    *,
    invited_by: uuid.UUID | None,
    role: str = "member",
) -> str | None:
    """An accepted invitation into a circle: the facilitator (or an admin) chose him, so the join
    policy does not apply, but capacity does. Returns "active", "pending" (full: he waits as a
    pending request the facilitators can approve when a seat frees) or None (no such open circle).
    Idempotent: a current membership is kept as it is (or activated if pending and a seat is free).
    `role` "facilitator" (a bulk import's facilitator rows): he facilitates at once, holding no seat.
    """
    row = await locking.get_with_membership(session, circle_id, user_id, lock=True)
    if row is None or row[0].archived_at is not None:
        return None
    circle, membership = row
    if membership is not None and membership.status == "active":
        return "active"
    if membership is None:
        membership = Membership(
            id=uuid.uuid4(), circle_id=circle.id, user_id=user_id, role=role, status="pending", added_by=invited_by
        )
        if role == "member" and circle.member_count >= circle.capacity_max:
            session.add(membership)
            await session.flush()
            return "pending"
        await activate(session, circle, membership, decided_by=invited_by, new=True)
        return "active"
    if circle.member_count >= circle.capacity_max:
        return "pending"
    await activate(session, circle, membership, decided_by=invited_by)
    return "active"
