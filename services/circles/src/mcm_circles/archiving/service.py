"""Archiving a circle (DELETE /api/v1/circles/{id}): one transaction under the circle's lock.

Current memberships end ("circle_archived", so payments stops billing), pending transfer
requests into or out of it are cancelled, future meetings are called off; the circle row and
all history stay. Archiving an archived circle changes nothing.

Its own package because it spans circles, memberships, transfers and meetings (each through
its service functions), above all of them.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.actors import actor_id
from mcm_circles.clock import utcnow
from mcm_circles.meetings.service import cancel_future
from mcm_circles.memberships import lifecycle
from mcm_circles.outbox import notify
from mcm_circles.permissions import load_access
from mcm_circles.transfers.service import cancel_pending_involving_circle
from mcm_shared.security import Principal

REASON = "circle archived"


async def archive_circle(session: AsyncSession, principal: Principal, circle_id: uuid.UUID) -> None:
    actor = actor_id(principal)
    access = (await load_access(session, principal, circle_id, lock=True)).ensure_manage()
    circle = access.circle
    if circle.archived_at is not None:
        return
    memberships = await lifecycle.current_in_circle(session, circle.id)
    recipients = [m.user_id for m in memberships if m.status == "active" and m.user_id != actor]
    for membership in memberships:
        await lifecycle.finish(session, circle, membership, reason="circle_archived", decided_by=actor)
    now = utcnow()
    await cancel_pending_involving_circle(session, circle.id, decided_by=actor, now=now, note=REASON)
    await cancel_future(session, circle, REASON)
    circle.archived_at = now
    await session.flush()
    await notify(session, recipients, "circle.archived", {"circle_id": circle.id, "circle_name": circle.name})
    await session.commit()
