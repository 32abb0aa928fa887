"""Events memberships publish (payload contracts in docs/circles.md).

`membership.started` — a membership became active (member or facilitator): messaging opens the
circle's thread to him. `membership.payment_required` — an active seat in a circle with dues; payments opens a monthly
obligation. `membership.ended` — the seat is gone; payments stops billing. `membership.transferred`
— the person moved circles (published together with the two above).
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.circles.models import Circle
from mcm_circles.memberships.models import Membership
from mcm_circles.outbox import publish


async def payment_required(session: AsyncSession, circle: Circle, membership: Membership) -> None:
    await publish(
        session,
        "membership.payment_required",
        {
            "membership_id": membership.id,
            "circle_id": circle.id,
            "circle_name": circle.name,
            "user_id": membership.user_id,
            "amount": circle.dues_amount,
            "currency": circle.dues_currency,
            "interval": "month",
        },
        key=membership.id,
    )


async def started(session: AsyncSession, membership: Membership) -> None:
    await publish(
        session,
        "membership.started",
        {
            "membership_id": membership.id,
            "circle_id": membership.circle_id,
            "user_id": membership.user_id,
            "role": membership.role,
            "started_at": membership.joined_at,
        },
        key=membership.id,
    )


async def ended(session: AsyncSession, membership: Membership) -> None:
    await publish(
        session,
        "membership.ended",
        {
            "membership_id": membership.id,
            "circle_id": membership.circle_id,
            "user_id": membership.user_id,
            "reason": membership.end_reason,
            "ended_at": membership.ended_at,
        },
        key=membership.id,
    )


async def transferred(session: AsyncSession, *, request_id: uuid.UUID | None, old: Membership, new: Membership) -> None:
    await publish(
        session,
        "membership.transferred",
        {
            "transfer_request_id": request_id,
            "user_id": new.user_id,
            "from_membership_id": old.id,
            "from_circle_id": old.circle_id,
            "to_membership_id": new.id,
            "to_circle_id": new.circle_id,
            "payment_status": new.payment_status,
        },
        key=new.user_id,
    )
