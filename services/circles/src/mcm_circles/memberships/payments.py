"""Payment status of memberships — changed only by payments' events — and the follow-up list.

`obligation.overdue` flags an active membership for a human to follow up (facilitators are told);
`obligation.cancelled` (the member stopped his dues himself, in Stripe's billing portal: status
`stopped`) flags it too, for the facilitators to talk with him; nobody is ever removed
automatically. A later settled/paused/waived clears the flag. Events that
happened before the status we already hold (re-delivered, out of order) change nothing.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.actors import actor_id
from mcm_circles.circles import locking
from mcm_circles.circles.schemas import MeetingPlace
from mcm_circles.clock import utcnow
from mcm_circles.memberships.models import Membership
from mcm_circles.memberships.repository import MembershipRepository
from mcm_circles.memberships.schemas import FlaggedMembership, MyMembership
from mcm_circles.outbox import notify
from mcm_circles.permissions import can_follow_up_payments, load_access
from mcm_shared.errors import Forbidden
from mcm_shared.events.envelope import Envelope
from mcm_shared.pagination import Page, make_cursor, parse_datetime, read_cursor
from mcm_shared.security import Principal

logger = logging.getLogger("mcm.circles.payments")

STATUS_OF_EVENT = {
    "obligation.settled": "current",
    "obligation.overdue": "overdue",
    "obligation.paused": "paused",
    "obligation.waived": "waived",
    "obligation.cancelled": "stopped",
}
# Statuses a facilitator follows up (the membership is flagged while it is active).
FOLLOW_UP = ("overdue", "stopped")


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value is not None else None
    except ValueError:
        return None


async def _membership_of(session: AsyncSession, payload: dict[str, Any]) -> Membership | None:
    repo = MembershipRepository(session)
    membership_id = _uuid(payload.get("membership_id"))
    if membership_id is None:
        circle_id, user_id = _uuid(payload.get("circle_id")), _uuid(payload.get("user_id"))
        if circle_id is None or user_id is None:
            return None
        current = await repo.current(circle_id, user_id, statuses=("active",))
        membership_id = current.id if current else None
    return await repo.get(membership_id, lock=True) if membership_id else None


async def apply_payment_event(session: AsyncSession, envelope: Envelope) -> None:
    """Consumer of payments' obligation.* events (payload contract in docs/circles.md)."""
    status = STATUS_OF_EVENT[envelope.type]
    kind = envelope.payload.get("kind")
    membership = await _membership_of(session, envelope.payload) if kind in (None, "membership") else None
    if membership is None:
        # Obligations for event registrations, or for memberships we never had: not ours.
        logger.info(
            "payment event without a membership of ours", extra={"event_id": str(envelope.id), "type": envelope.type}
        )
        return
    if membership.payment_status_at is not None and envelope.occurred_at < membership.payment_status_at:
        return
    membership.payment_status = status
    membership.payment_status_at = envelope.occurred_at
    if status == "overdue":
        if membership.status == "active" and membership.flagged_at is None:
            membership.flagged_at = utcnow()
            found = await locking.get_with_membership(session, membership.circle_id, None)
            if found is None:  # a membership's circle is never deleted (foreign key)
                raise RuntimeError("circle is missing")
            circle = found[0]
            facilitators = await MembershipRepository(session).active_user_ids(circle.id, role="facilitator")
            await notify(
                session,
                facilitators,
                "circle.member_payment_overdue",
                {
                    "circle_id": circle.id,
                    "circle_name": circle.name,
                    "user_id": membership.user_id,
                    "membership_id": membership.id,
                },
            )
    elif status in FOLLOW_UP:
        if membership.status == "active" and membership.flagged_at is None:
            membership.flagged_at = utcnow()
    else:
        membership.flagged_at = None
    await session.flush()


def _flagged_page(rows: list[tuple[Membership, str, str]], limit: int) -> Page[FlaggedMembership]:
    items = [
        FlaggedMembership(
            membership_id=m.id,
            circle_id=m.circle_id,
            circle_name=circle_name,
            user_id=m.user_id,
            display_name=name,
            payment_status=m.payment_status,
            flagged_at=m.flagged_at,
        )
        for m, name, circle_name in rows[:limit]
    ]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1][0]
        next_cursor = make_cursor("flagged", last.flagged_at, last.id)
    return Page[FlaggedMembership](items=items, next_cursor=next_cursor)


async def flagged_in_circle(
    session: AsyncSession, principal: Principal, circle_id: uuid.UUID, *, limit: int, cursor: str | None
) -> Page[FlaggedMembership]:
    access = await load_access(session, principal, circle_id)
    access.ensure(access.can_read_flagged, "Only this circle's facilitators and support staff can see this.")
    rows = await MembershipRepository(session).flagged_page(
        [circle_id], read_cursor(cursor, "flagged", parse_datetime), limit
    )
    return _flagged_page(rows, limit)


async def flagged_everywhere(
    session: AsyncSession, principal: Principal, *, limit: int, cursor: str | None
) -> Page[FlaggedMembership]:
    """Support/leadership/admin see every circle; a facilitator sees the circles he facilitates."""
    repo = MembershipRepository(session)
    circle_ids: list[uuid.UUID] | None = None
    if not can_follow_up_payments(principal):
        circle_ids = await repo.facilitated_circle_ids(actor_id(principal))
        if not circle_ids:
            raise Forbidden("Only facilitators and support staff can see members flagged for follow-up.")
    rows = await repo.flagged_page(circle_ids, read_cursor(cursor, "flagged", parse_datetime), limit)
    return _flagged_page(rows, limit)


async def my_memberships(session: AsyncSession, principal: Principal, *, include_ended: bool) -> list[MyMembership]:
    statuses = ("pending", "active", "declined", "ended") if include_ended else ("pending", "active")
    rows = await MembershipRepository(session).mine(actor_id(principal), statuses)
    return [
        MyMembership(
            id=m.id,
            circle_id=m.circle_id,
            circle_name=circle.name,
            role=m.role,
            status=m.status,
            payment_status=m.payment_status,
            joined_at=m.joined_at,
            ended_at=m.ended_at,
            end_reason=m.end_reason,
            # Where it meets: only while he is an active member.
            location=MeetingPlace(
                city=circle.location_city,
                online=circle.location_online,
                address=circle.location_address,
                video_url=circle.location_video_url,
            )
            if m.status == "active"
            else None,
        )
        for m, circle in rows
    ]
