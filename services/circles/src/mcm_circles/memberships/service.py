"""Membership use cases: join, add, approve, decline, leave/remove, change role, list.

Each use case is one transaction that starts by locking the circle's row, and commits once.
A lost race that only the database noticed (the partial unique index on current memberships,
the member_count CHECK) is turned into the same 409 the Python check would have given.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.actors import actor_id
from mcm_circles.integrity import maps_conflicts
from mcm_circles.memberships import lifecycle
from mcm_circles.memberships.errors import (
    AlreadyMember,
    CircleFull,
    MembershipNotFound,
    NotPending,
    ReasonRequired,
    UserNotFound,
)
from mcm_circles.memberships.models import Membership
from mcm_circles.memberships.repository import MembershipRepository
from mcm_circles.memberships.schemas import Decision, MemberAdd, MembershipEnd, RoleChange
from mcm_circles.memberships.schemas import Membership as MembershipOut
from mcm_circles.outbox import notify
from mcm_circles.permissions import CircleAccess, is_staff, load_access
from mcm_circles.profiles.service import ensure_profile, get_profile
from mcm_shared.errors import Forbidden
from mcm_shared.pagination import Page, make_cursor, parse_datetime, read_cursor
from mcm_shared.security import Principal

CONFLICTS = {"uq_memberships_current": AlreadyMember, "ck_circles_member_count_within_capacity": CircleFull}
guarded = maps_conflicts(CONFLICTS)


def to_out(membership: Membership, display_name: str, access: CircleAccess | None) -> MembershipOut:
    private = access is None or access.principal.user_id == membership.user_id or access.can_read_private
    return MembershipOut(
        id=membership.id,
        circle_id=membership.circle_id,
        user_id=membership.user_id,
        display_name=display_name,
        role=membership.role,
        status=membership.status,
        payment_status=membership.payment_status if private else None,
        flagged=(membership.flagged_at is not None) if private else None,
        joined_at=membership.joined_at,
        ended_at=membership.ended_at,
        end_reason=membership.end_reason,
    )


def _circle_data(access: CircleAccess) -> dict[str, Any]:
    return {"circle_id": access.circle.id, "circle_name": access.circle.name}


async def _named_out(session: AsyncSession, membership: Membership, access: CircleAccess) -> MembershipOut:
    _, name = await MembershipRepository(session).named(membership)
    return to_out(membership, name, access)


@guarded
async def join(session: AsyncSession, principal: Principal, circle_id: uuid.UUID) -> MembershipOut:
    user_id = await ensure_profile(session, principal)
    access = (await load_access(session, principal, circle_id, lock=True)).ensure_visible()
    circle = access.circle
    lifecycle.ensure_open(circle)
    if access.membership is not None:
        raise AlreadyMember()
    if circle.join_policy == "open":
        membership = await lifecycle.start(session, circle, user_id)
    else:
        membership = Membership(id=uuid.uuid4(), circle_id=circle.id, user_id=user_id, role="member", status="pending")
        await MembershipRepository(session).add(membership)
        facilitators = await MembershipRepository(session).active_user_ids(circle.id, role="facilitator")
        await notify(session, facilitators, "circle.join_requested", {**_circle_data(access), "user_id": user_id})
    result = await _named_out(session, membership, access)
    await session.commit()
    return result


@guarded
async def add_member(
    session: AsyncSession, principal: Principal, circle_id: uuid.UUID, data: MemberAdd
) -> MembershipOut:
    actor = actor_id(principal)
    access = (await load_access(session, principal, circle_id, lock=True)).ensure_manage()
    lifecycle.ensure_open(access.circle)
    profile = await get_profile(session, data.user_id)
    if profile is None or profile.erased_at is not None:
        raise UserNotFound()
    existing = await MembershipRepository(session).current(circle_id, data.user_id)
    if existing is not None and existing.status == "active":
        raise AlreadyMember()
    if existing is not None:  # a pending request: adding him is approving it, in the role asked for
        existing.role = data.role
        await lifecycle.activate(session, access.circle, existing, decided_by=actor)
        membership = existing
    else:
        membership = await lifecycle.start(session, access.circle, data.user_id, role=data.role, added_by=actor)
    await notify(session, [data.user_id], "circle.member_added", {**_circle_data(access), "role": data.role})
    result = await _named_out(session, membership, access)
    await session.commit()
    return result


async def _pending(session: AsyncSession, access: CircleAccess, user_id: uuid.UUID) -> Membership:
    membership = await MembershipRepository(session).current(access.circle.id, user_id)
    if membership is None:
        raise MembershipNotFound()
    if membership.status != "pending":
        raise NotPending()
    return membership


@guarded
async def approve(
    session: AsyncSession, principal: Principal, circle_id: uuid.UUID, user_id: uuid.UUID
) -> MembershipOut:
    actor = actor_id(principal)
    access = (await load_access(session, principal, circle_id, lock=True)).ensure_manage()
    membership = await _pending(session, access, user_id)
    await lifecycle.activate(session, access.circle, membership, decided_by=actor)
    await notify(session, [user_id], "circle.join_approved", _circle_data(access))
    result = await _named_out(session, membership, access)
    await session.commit()
    return result


@guarded
async def decline(
    session: AsyncSession, principal: Principal, circle_id: uuid.UUID, user_id: uuid.UUID, data: Decision
) -> MembershipOut:
    actor = actor_id(principal)
    access = (await load_access(session, principal, circle_id, lock=True)).ensure_manage()
    membership = await _pending(session, access, user_id)
    await lifecycle.finish(session, access.circle, membership, reason="declined", note=data.reason, decided_by=actor)
    await notify(session, [user_id], "circle.join_declined", {**_circle_data(access), "reason": data.reason})
    result = await _named_out(session, membership, access)
    await session.commit()
    return result


@guarded
async def end(
    session: AsyncSession, principal: Principal, circle_id: uuid.UUID, user_id: uuid.UUID, data: MembershipEnd
) -> None:
    """A member leaves (or withdraws his request); a facilitator or admin removes someone, with a reason."""
    actor = actor_id(principal)
    access = (await load_access(session, principal, circle_id, lock=True)).ensure_visible()
    if user_id == actor:
        membership = access.membership
        if membership is None:
            raise MembershipNotFound()
        reason = "left" if membership.status == "active" else "withdrawn"
        await lifecycle.finish(session, access.circle, membership, reason=reason, note=data.reason, decided_by=actor)
    else:
        access.ensure_manage()
        if not data.reason:
            raise ReasonRequired()
        membership = await MembershipRepository(session).current(circle_id, user_id)
        if membership is None:
            raise MembershipNotFound()
        await lifecycle.finish(session, access.circle, membership, reason="removed", note=data.reason, decided_by=actor)
        await notify(session, [user_id], "circle.member_removed", {**_circle_data(access), "reason": data.reason})
    await session.commit()


@guarded
async def change_role(
    session: AsyncSession, principal: Principal, circle_id: uuid.UUID, user_id: uuid.UUID, data: RoleChange
) -> MembershipOut:
    """Promote to co-facilitator or step back to member: the old membership ends ("role_changed")
    and a new one starts, so seats, dues and history follow the usual rules."""
    actor = actor_id(principal)
    access = (await load_access(session, principal, circle_id, lock=True)).ensure_manage()
    membership = await MembershipRepository(session).current(circle_id, user_id, statuses=("active",))
    if membership is None:
        raise MembershipNotFound()
    if membership.role != data.role:
        await lifecycle.finish(session, access.circle, membership, reason="role_changed", decided_by=actor)
        membership = await lifecycle.start(session, access.circle, user_id, role=data.role, added_by=actor)
    result = await _named_out(session, membership, access)
    await session.commit()
    return result


async def list_members(
    session: AsyncSession, principal: Principal, circle_id: uuid.UUID, *, status: str, limit: int, cursor: str | None
) -> Page[MembershipOut]:
    access = await load_access(session, principal, circle_id)
    access.ensure(access.can_read_members, "Only members of this circle and staff can see who is in it.")
    if status == "pending" and not (access.can_manage or is_staff(principal)):
        raise Forbidden("Only this circle's facilitators and staff can see pending requests.")
    after = read_cursor(cursor, f"members:{status}", parse_datetime)
    rows = await MembershipRepository(session).named_page(circle_id, (status,), after, limit)
    items = [to_out(m, name, access) for m, name in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1][0]
        next_cursor = make_cursor(f"members:{status}", last.created_at, last.id)
    return Page[MembershipOut](items=items, next_cursor=next_cursor)


async def invitation_authority(session: AsyncSession, circle_id: uuid.UUID, user_id: uuid.UUID) -> tuple[bool, bool]:
    """For auth, before it sends an invitation into a circle: (the circle exists and is not
    archived, the user is one of its active facilitators)."""
    repo = MembershipRepository(session)
    if not await repo.circle_open(circle_id):
        return False, False
    membership = await repo.current(circle_id, user_id, statuses=("active",))
    return True, membership is not None and membership.role == "facilitator"
