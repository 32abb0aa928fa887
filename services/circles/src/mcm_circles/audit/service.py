"""Recording staff actions; always inside the transaction of the action itself, so a row exists
exactly when the action happened."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.audit.models import StaffAction

# The actions recorded (the `action` column).
REGISTERED_ON_BEHALF = "event.registration.registered_on_behalf"
CANCELLED_ON_BEHALF = "event.registration.cancelled_on_behalf"
APPROVED = "event.registration.approved"
DECLINED = "event.registration.declined"
MOVED_BETWEEN_CIRCLES = "circle.membership.moved"


def record(
    session: AsyncSession,
    action: str,
    *,
    actor_user_id: UUID,
    subject_user_id: UUID,
    reason: str | None,
    details: Mapping[str, Any],
    at: datetime,
) -> StaffAction:
    row = StaffAction(
        action=action,
        actor_user_id=actor_user_id,
        subject_user_id=subject_user_id,
        reason=reason or None,
        details={key: str(value) if isinstance(value, UUID) else value for key, value in details.items()},
        created_at=at,
    )
    session.add(row)
    return row
