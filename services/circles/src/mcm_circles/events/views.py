"""Models → response schemas. Which fields a caller sees is decided here, in one place."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any
from uuid import UUID

from sqlalchemy import Row

from mcm_circles.events import schemas
from mcm_circles.events.models import Event, EventStaff, Registration, RequirementTemplate
from mcm_circles.events.registrations import schemas as rs
from mcm_circles.events.requirements.service import parse_spec


def event(model: Event, *, manager: bool) -> schemas.Event:
    return schemas.Event(
        id=model.id,
        type=model.type,
        title=model.title,
        description=model.description,
        starts_at=model.starts_at,
        ends_at=model.ends_at,
        timezone=model.timezone,
        location={"city": model.city, "online": model.online, "url": model.url},
        capacity=model.capacity,
        price={"amount": model.price_amount, "currency": model.price_currency},
        payment_plan={"instalments": model.instalments} if model.instalments else None,
        visibility=model.visibility,
        requires_approval=model.requires_approval,
        registration_opens_at=model.registration_opens_at,
        registration_closes_at=model.registration_closes_at,
        requirements=[parse_spec(requirement.kind, requirement.params) for requirement in model.requirements],
        circle_ids=model.circle_ids,
        invited_user_ids=model.invited_user_ids if manager else None,
        status=model.status,
        confirmed_count=model.confirmed_count,
        waitlist_count=model.waitlist_count,
        seats_available=max(0, model.capacity - model.seats_taken),
        created_at=model.created_at,
        updated_at=model.updated_at,
        published_at=model.published_at,
        cancelled_at=model.cancelled_at,
    )


def registration(model: Registration | Row[Any] | SimpleNamespace) -> rs.Registration:
    """From the ORM model or a `RETURNING` row of `event_registrations` (same attribute names)."""
    return rs.Registration(
        id=model.id,
        event_id=model.event_id,
        status=model.status,
        waitlist_position=model.waitlist_position,
        hold_expires_at=model.hold_expires_at,
        price={"amount": model.amount, "currency": model.currency},
        instalments=model.instalments,
        sponsor_user_id=model.sponsor_user_id,
        answers=model.answers or {},
        created_at=model.created_at,
        confirmed_at=model.confirmed_at,
        cancelled_at=model.cancelled_at,
        cancel_reason=model.cancel_reason,
        refund=model.refund,
        decline_reason=model.decline_reason,
    )


def participant(model: Registration, names: dict[UUID, str], *, manager: bool) -> rs.Participant:
    return rs.Participant(
        id=model.id,
        display_name=names.get(model.user_id, ""),
        status=model.status,
        waitlist_position=model.waitlist_position,
        hold_expires_at=model.hold_expires_at,
        checked_in_at=model.checked_in_at,
        sponsor_display_name=names.get(model.sponsor_user_id) if model.sponsor_user_id else None,
        care_team_display_name=names.get(model.care_user_id) if model.care_user_id else None,
        payment_overdue=model.payment_overdue_at is not None,
        answers=(model.answers or {}) if manager else None,
        created_at=model.created_at,
    )


def staff_member(model: EventStaff, names: dict[UUID, str], assigned: dict[UUID, list[UUID]]) -> rs.StaffMember:
    return rs.StaffMember(
        user_id=model.user_id,
        display_name=names.get(model.user_id, ""),
        role=model.role,
        assigned_registration_ids=assigned.get(model.user_id, []) if model.role == "care_team" else [],
        created_at=model.created_at,
    )


def template(model: RequirementTemplate) -> schemas.RequirementTemplate:
    return schemas.RequirementTemplate(
        id=model.id,
        name=model.name,
        description=model.description,
        requirements=[
            parse_spec(item["kind"], {k: v for k, v in item.items() if k != "kind"}) for item in model.requirements
        ],
        created_at=model.created_at,
    )
