from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from mcm_payments.obligations.models import Obligation as ObligationModel


class Money(BaseModel):
    amount: int
    currency: str


class Obligation(BaseModel):
    """What a member owes and where it stands (see docs/payments.md for the states)."""

    id: uuid.UUID
    user_id: uuid.UUID
    kind: Literal["membership", "registration"]
    membership_id: uuid.UUID | None = None
    circle_id: uuid.UUID | None = None
    registration_id: uuid.UUID | None = None
    event_id: uuid.UUID | None = None
    status: Literal["pending", "settled", "overdue", "paused", "waived", "cancelled"]
    amount: Money
    interval: str | None
    instalments: int
    instalments_paid: int
    amount_due: Money
    amount_paid: Money
    paused_until: datetime | None
    settled_at: datetime | None
    overdue_since: datetime | None
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, obligation: ObligationModel, **extra: Any) -> Obligation:
        ids: dict[str, Any] = (
            {"membership_id": obligation.source_id, "circle_id": obligation.context_id}
            if obligation.kind == "membership"
            else {"registration_id": obligation.source_id, "event_id": obligation.context_id}
        )
        currency = obligation.currency
        return cls(
            id=obligation.id,
            user_id=obligation.user_id,
            kind=obligation.kind,
            status=obligation.status,
            **ids,
            amount=Money(amount=obligation.amount, currency=currency),
            interval=obligation.interval,
            instalments=obligation.instalments,
            instalments_paid=obligation.instalments_paid,
            amount_due=Money(amount=obligation.amount_due, currency=currency),
            amount_paid=Money(amount=obligation.amount_paid, currency=currency),
            paused_until=obligation.paused_until,
            settled_at=obligation.settled_at,
            overdue_since=obligation.overdue_since,
            completed_at=obligation.completed_at,
            created_at=obligation.created_at,
            updated_at=obligation.updated_at,
            **extra,
        )


class ObligationPage(BaseModel):
    items: list[Obligation]
    next_cursor: str | None = None


class AuditEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    actor: str
    actor_roles: list[str]
    action: str
    reason: str | None
    status_before: str | None
    status_after: str | None
    data: dict[str, Any]
    created_at: datetime


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next_cursor: str | None = None
