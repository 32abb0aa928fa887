"""Transfer requests: a member of one circle asks to move to another; the target circle decides.
Staff may also move a member directly (`move_member`), by the same rules and in one transaction.

Approval is one transaction: both circles are locked in id order (the order every multi-circle
change uses, so two transfers in opposite directions cannot deadlock), then the request, then
the old membership ends ("transferred") and a new one starts under the target's capacity check.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.actors import actor_id
from mcm_circles.audit import service as audit
from mcm_circles.circles import locking
from mcm_circles.circles.errors import CircleNotFound
from mcm_circles.clock import utcnow
from mcm_circles.integrity import maps_conflicts
from mcm_circles.memberships import bus as membership_bus
from mcm_circles.memberships import lifecycle
from mcm_circles.memberships.errors import AlreadyMember, MembershipNotFound
from mcm_circles.memberships.service import CONFLICTS as MEMBERSHIP_CONFLICTS
from mcm_circles.outbox import notify, publish
from mcm_circles.permissions import CircleAccess, is_staff, load_access
from mcm_circles.transfers.errors import (
    MembershipNoLongerActive,
    SameCircle,
    TransferAlreadyPending,
    TransferNotFound,
    TransferNotPending,
)
from mcm_circles.transfers.models import TransferRequest
from mcm_circles.transfers.repository import TransferRepository
from mcm_circles.transfers.schemas import MemberMove, MemberMoved, TransferCreate, TransferDecision
from mcm_circles.transfers.schemas import TransferRequest as TransferOut
from mcm_shared.errors import Forbidden
from mcm_shared.pagination import Page, make_cursor, parse_datetime, read_cursor
from mcm_shared.security import Principal, Role

guarded = maps_conflicts({**MEMBERSHIP_CONFLICTS, "uq_transfer_requests_pending": TransferAlreadyPending})

TRANSFER_DECIDED = "transfer.decided"


def to_out(request: TransferRequest, display_name: str) -> TransferOut:
    return TransferOut.model_validate(
        {
            **{c: getattr(request, c) for c in TransferOut.model_fields if c != "display_name"},
            "display_name": display_name,
        }
    )


async def _out(session: AsyncSession, request: TransferRequest) -> TransferOut:
    return to_out(request, await TransferRepository(session).display_name(request.user_id))


@guarded
async def request_transfer(
    session: AsyncSession, principal: Principal, circle_id: uuid.UUID, data: TransferCreate
) -> TransferOut:
    user_id = actor_id(principal)
    source = (await load_access(session, principal, circle_id)).ensure_visible()
    if not source.is_member or source.membership is None or source.membership.role != "member":
        raise Forbidden("Only active members of this circle can ask to transfer out of it.")
    if data.to_circle_id == circle_id:
        raise SameCircle()
    target = await load_access(session, principal, data.to_circle_id)
    if not target.can_see:
        raise CircleNotFound("No such target circle.")
    lifecycle.ensure_open(target.circle)
    if target.membership is not None:
        raise AlreadyMember("You already have a current membership in the target circle.")
    request = TransferRequest(
        id=uuid.uuid4(),
        user_id=user_id,
        from_membership_id=source.membership.id,
        from_circle_id=circle_id,
        to_circle_id=data.to_circle_id,
        message=data.message,
        status="pending",
    )
    await TransferRepository(session).add(request)
    facilitators = await lifecycle.active_user_ids(session, data.to_circle_id, role="facilitator")
    await notify(
        session,
        facilitators,
        "circle.transfer_requested",
        {
            "transfer_request_id": request.id,
            "circle_id": data.to_circle_id,
            "circle_name": target.circle.name,
            "user_id": user_id,
        },
    )
    result = await _out(session, request)
    await session.commit()
    return result


async def _accesses(session: AsyncSession, principal: Principal, request: TransferRequest) -> tuple[bool, bool]:
    """(may see the request, may decide it)."""
    user_id = principal.user_id
    active = ("active",)
    target_role = await lifecycle.current(session, request.to_circle_id, user_id, statuses=active) if user_id else None
    source_role = (
        await lifecycle.current(session, request.from_circle_id, user_id, statuses=active) if user_id else None
    )
    decides = (target_role is not None and target_role.role == "facilitator") or principal.has_role("admin")
    sees = (
        decides
        or request.user_id == user_id
        or is_staff(principal)
        or (source_role is not None and source_role.role == "facilitator")
    )
    return sees, decides


async def get_transfer(session: AsyncSession, principal: Principal, request_id: uuid.UUID) -> TransferOut:
    request = await TransferRepository(session).get(request_id)
    if request is None or not (await _accesses(session, principal, request))[0]:
        raise TransferNotFound()
    return await _out(session, request)


@guarded
async def decide(
    session: AsyncSession, principal: Principal, request_id: uuid.UUID, data: TransferDecision, *, approve: bool
) -> TransferOut:
    actor = actor_id(principal)
    repo = TransferRepository(session)
    request = await repo.get(request_id)
    if request is None:
        raise TransferNotFound()
    sees, decides = await _accesses(session, principal, request)
    if not sees:
        raise TransferNotFound()
    if not decides:
        raise Forbidden("Only the target circle's facilitators and admins decide transfers.")
    circles = await locking.lock_many(session, [request.from_circle_id, request.to_circle_id])
    request = await repo.get(request_id, lock=True)
    if request is None:  # read above, and requests are never deleted
        raise RuntimeError("transfer request is missing")
    if request.status != "pending":
        raise TransferNotPending()
    if approve:
        old = await lifecycle.get(session, request.from_membership_id)
        if old is None or old.status != "active":
            raise MembershipNoLongerActive()
        target = circles[request.to_circle_id]
        lifecycle.ensure_open(target)
        if await lifecycle.current(session, target.id, request.user_id) is not None:
            raise AlreadyMember("He already has a current membership in this circle.")
        await lifecycle.finish(session, circles[request.from_circle_id], old, reason="transferred", decided_by=actor)
        new = await lifecycle.start(session, target, request.user_id, role="member", added_by=actor)
        request.to_membership_id = new.id
    # All at once, before anything flushes: the CHECK ties a decision time to a decided status.
    request.status = "approved" if approve else "declined"
    request.decided_by, request.decided_at, request.decision_note = actor, utcnow(), data.note
    await session.flush()
    if approve and old is not None:  # `old` is the active membership checked above
        await membership_bus.transferred(session, request_id=request.id, old=old, new=new)
    # What was decided; messaging's notification centre tells the requester.
    await publish(
        session,
        TRANSFER_DECIDED,
        {
            "transfer_request_id": request.id,
            "user_id": request.user_id,
            "decision": request.status,
            "from_circle_id": request.from_circle_id,
            "circle_id": request.to_circle_id,
            "circle_name": circles[request.to_circle_id].name,
            "note": data.note,
        },
        key=request.to_circle_id,
    )
    result = await _out(session, request)
    await session.commit()
    return result


async def cancel(session: AsyncSession, principal: Principal, request_id: uuid.UUID) -> TransferOut:
    """The requester withdraws his pending request."""
    repo = TransferRepository(session)
    request = await repo.get(request_id, lock=True)
    if request is None or not (await _accesses(session, principal, request))[0]:
        raise TransferNotFound()
    if request.user_id != principal.user_id:
        # Those who may see it (facilitators, staff) learn it exists, but only its requester withdraws it.
        raise Forbidden("Only the member who asked can withdraw a transfer request.")
    if request.status != "pending":
        raise TransferNotPending()
    request.status, request.decided_by, request.decided_at = "cancelled", principal.user_id, utcnow()
    await session.flush()
    result = await _out(session, request)
    await session.commit()
    return result


async def list_for_circle(
    session: AsyncSession,
    principal: Principal,
    circle_id: uuid.UUID,
    *,
    incoming: bool,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> Page[TransferOut]:
    access: CircleAccess = await load_access(session, principal, circle_id)
    access.ensure(
        access.can_manage or is_staff(principal), "Only this circle's facilitators and staff can see its transfers."
    )
    sort = f"transfers:{'in' if incoming else 'out'}:{status or 'all'}"
    rows = await TransferRepository(session).page_for_circle(
        circle_id, incoming=incoming, status=status, after=read_cursor(cursor, sort, parse_datetime), limit=limit
    )
    items = [to_out(t, name) for t, name in rows[:limit]]
    next_cursor = make_cursor(sort, rows[limit - 1][0].created_at, rows[limit - 1][0].id) if len(rows) > limit else None
    return Page[TransferOut](items=items, next_cursor=next_cursor)


async def cancel_pending_for_erased_user(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Erasure: his pending transfer requests are cancelled (decided now, "account erased")."""
    now = utcnow()
    for request in await TransferRepository(session).pending_involving(user_id=user_id):
        request.status, request.decided_at, request.decision_note = "cancelled", now, "account erased"


async def cancel_pending_involving_circle(
    session: AsyncSession, circle_id: uuid.UUID, *, decided_by: uuid.UUID, now: datetime, note: str
) -> None:
    """Archiving: pending requests into or out of the circle are cancelled."""
    for request in await TransferRepository(session).pending_involving(circle_id=circle_id):
        request.status, request.decided_by, request.decided_at, request.decision_note = (
            "cancelled",
            decided_by,
            now,
            note,
        )


async def anonymise_user(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Erasure: the words on his transfer requests (his message, the decision note) go."""
    await TransferRepository(session).anonymise_user(user_id)


# Token roles that move any member between circles; leadership reads but does not act.
MOVE_ROLES = (Role.PTM, Role.SUPPORT, Role.ADMIN)


async def move_member(
    session: AsyncSession, principal: Principal, circle_id: uuid.UUID, user_id: uuid.UUID, data: MemberMove
) -> MemberMoved:
    """See `_move_member`; a lost race on a membership constraint becomes its 409."""
    moved: MemberMoved = await guarded(_move_member)(session, principal, circle_id, user_id, data)
    return moved


async def _move_member(
    session: AsyncSession, principal: Principal, circle_id: uuid.UUID, user_id: uuid.UUID, data: MemberMove
) -> MemberMoved:
    """Staff move a member from `circle_id` to `data.to_circle_id` directly: ptm, support and admin
    anywhere; a facilitator between two circles he both facilitates. As an approved transfer: both
    circles locked in id order, the old membership ends (`transferred`, the reason as its note),
    the new one starts as `member` under the target's capacity and dues (payments learns through
    `membership.ended`, `membership.payment_required` and `membership.transferred`), his pending
    transfer requests out of the old circle are cancelled, an audit row, and he is told."""
    actor = actor_id(principal)
    if data.to_circle_id == circle_id:
        raise SameCircle()
    source = await load_access(session, principal, circle_id)
    source.ensure_visible()
    if not principal.has_role(*MOVE_ROLES):
        target_role = await lifecycle.current(session, data.to_circle_id, actor, statuses=("active",))
        if not (source.is_facilitator and target_role is not None and target_role.role == "facilitator"):
            raise Forbidden("Only ptm, support, admins, or a facilitator of both circles move members.")
    circles = await locking.lock_many(session, [circle_id, data.to_circle_id])
    if circle_id not in circles or data.to_circle_id not in circles:
        raise CircleNotFound()
    source_circle, target = circles[circle_id], circles[data.to_circle_id]
    old = await lifecycle.current(session, circle_id, user_id, statuses=("active",))
    if old is None:
        raise MembershipNotFound("He has no active membership in this circle.")
    lifecycle.ensure_open(target)
    if await lifecycle.current(session, target.id, user_id) is not None:
        raise AlreadyMember("He already has a current membership in the target circle.")
    await lifecycle.finish(session, source_circle, old, reason="transferred", note=data.reason, decided_by=actor)
    new = await lifecycle.start(session, target, user_id, role="member", added_by=actor)
    now = utcnow()
    for request in await TransferRepository(session).pending_involving(user_id=user_id):
        if request.from_circle_id == circle_id:
            request.status, request.decided_by, request.decided_at = "cancelled", actor, now
            request.decision_note = "moved by staff"
    await session.flush()
    await membership_bus.transferred(session, request_id=None, old=old, new=new)
    audit.record(
        session,
        audit.MOVED_BETWEEN_CIRCLES,
        actor_user_id=actor,
        subject_user_id=user_id,
        reason=data.reason,
        details={
            "from_circle_id": circle_id,
            "to_circle_id": target.id,
            "from_membership_id": old.id,
            "to_membership_id": new.id,
        },
        at=now,
    )
    await notify(
        session,
        [user_id],
        "generic",
        {
            "subject": f"You moved to the circle {target.name}",
            "message": f'The organisers moved you from "{source_circle.name}" to "{target.name}": {data.reason}',
            "circle_id": str(target.id),
            "from_circle_id": str(circle_id),
        },
    )
    result = MemberMoved(
        user_id=user_id,
        from_circle_id=circle_id,
        to_circle_id=target.id,
        from_membership_id=old.id,
        to_membership_id=new.id,
        payment_status=new.payment_status,
    )
    await session.commit()
    return result
