"""One person's data in circles: the support overview and the privacy export.

The overview is what support needs to help him (memberships with circle names, registrations);
the export is everything circles holds about him, his own words included (registration answers,
declared birth date, goals, transfer messages, attendance notes staff wrote about him).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.people.repository import PersonRepository


async def overview(session: AsyncSession, user_id: uuid.UUID) -> dict[str, Any]:
    repo = PersonRepository(session)
    return {
        "user_id": user_id,
        "memberships": [_membership(row) for row in await repo.memberships(user_id)],
        "registrations": [_registration(row) for row in await repo.registrations(user_id)],
    }


async def export(session: AsyncSession, user_id: uuid.UUID) -> dict[str, Any]:
    repo = PersonRepository(session)
    profile = await repo.profile(user_id)
    return {
        "user_id": user_id,
        "profile": None
        if profile is None
        else {
            "display_name": profile.display_name,
            "verified_email": profile.verified_email,
            "verified_phone": profile.verified_phone,
            "directory_visible": profile.directory_visible,
            "erased_at": profile.erased_at,
        },
        "memberships": [
            {**_membership(row), "end_reason": row[0].end_reason, "end_note": row[0].end_note}
            for row in await repo.memberships(user_id)
        ],
        "registrations": [
            {
                **_registration(row),
                "answers": row[0].answers,
                "declared_birth_date": row[0].declared_birth_date,
                "decline_reason": row[0].decline_reason,
                "sponsor_user_id": row[0].sponsor_user_id,
                "care_user_id": row[0].care_user_id,
                "amount": row[0].amount,
                "currency": row[0].currency,
                "cancel_reason": row[0].cancel_reason,
                "checked_in_at": row[0].checked_in_at,
            }
            for row in await repo.registrations(user_id)
        ],
        "attendance": [
            {
                "meeting_id": attendance.meeting_id,
                "circle_id": attendance.circle_id,
                "starts_at": starts_at,
                "status": attendance.status,
                "note": attendance.note,
            }
            for attendance, starts_at in await repo.attendance(user_id)
        ],
        "goals": [
            {
                "id": goal.id,
                "circle_id": goal.circle_id,
                "title": goal.title,
                "period_start": goal.period_start,
                "period_end": goal.period_end,
                "done_at": goal.done_at,
            }
            for goal in await repo.goals(user_id)
        ],
        "transfer_requests": [
            {
                "id": request.id,
                "from_circle_id": request.from_circle_id,
                "to_circle_id": request.to_circle_id,
                "message": request.message,
                "status": request.status,
                "decision_note": request.decision_note,
                "created_at": request.created_at,
            }
            for request in await repo.transfer_requests(user_id)
        ],
        "event_staff": [{"event_id": staff.event_id, "role": staff.role} for staff in await repo.event_staff(user_id)],
    }


def _membership(row: Any) -> dict[str, Any]:
    membership, circle_name = row
    return {
        "id": membership.id,
        "circle_id": membership.circle_id,
        "circle_name": circle_name,
        "role": membership.role,
        "status": membership.status,
        "payment_status": membership.payment_status,
        "joined_at": membership.joined_at,
        "ended_at": membership.ended_at,
    }


def _registration(row: Any) -> dict[str, Any]:
    registration, event_title = row
    return {
        "id": registration.id,
        "event_id": registration.event_id,
        "event_title": event_title,
        "status": registration.status,
        "waitlist_position": registration.waitlist_position,
        "created_at": registration.created_at,
        "confirmed_at": registration.confirmed_at,
        "cancelled_at": registration.cancelled_at,
    }
