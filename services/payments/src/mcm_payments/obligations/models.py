"""What a member owes (an obligation) and the audit trail of everything done to one."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from mcm_payments.db import Base, Record

KINDS = ("membership", "registration")
STATUSES = ("pending", "settled", "overdue", "paused", "waived", "cancelled")
TERMINAL = ("waived", "cancelled")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Obligation(Record, Base):
    __tablename__ = "obligations"
    __table_args__ = (
        UniqueConstraint("kind", "source_id", name="uq_obligations_kind_source"),
        CheckConstraint(_in("kind", KINDS), name="kind"),
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("amount_due >= 0", name="amount_due_not_negative"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso"),
        CheckConstraint("instalments BETWEEN 1 AND 36 AND amount >= instalments", name="instalments"),
        CheckConstraint("status <> 'paused' OR paused_until IS NOT NULL", name="paused_has_until"),
        Index("ix_obligations_user", "user_id", "created_at"),
        Index("ix_obligations_context", "kind", "context_id"),
        Index(
            "ix_obligations_queue",
            "overdue_since",
            postgresql_where=text("status = 'overdue' OR attention IS NOT NULL"),
        ),
        Index("ix_obligations_paused", "paused_until", postgresql_where=text("status = 'paused'")),
    )

    user_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(String(16))
    # membership_id or registration_id in circles; circle_id or event_id.
    source_id: Mapped[uuid.UUID]
    context_id: Mapped[uuid.UUID]
    # Dues: per month. Registration: the whole price (split into `instalments` monthly parts).
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    interval: Mapped[str | None] = mapped_column(String(8))
    instalments: Mapped[int] = mapped_column(Integer, server_default="1")
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    amount_due: Mapped[int] = mapped_column(BigInteger)
    amount_paid: Mapped[int] = mapped_column(BigInteger, server_default="0")
    instalments_paid: Mapped[int] = mapped_column(Integer, server_default="0")
    settled_at: Mapped[datetime | None]
    overdue_since: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    paused_until: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    # Why staff must look at this obligation even though it is not overdue (e.g. a cash payment
    # to hand back after an event was cancelled). Shown in the intervention queue.
    attention: Mapped[str | None] = mapped_column(Text)
    last_reminder_at: Mapped[datetime | None]

    @property
    def is_recurring(self) -> bool:
        return self.kind == "membership" or self.instalments > 1


class ObligationAudit(Base):
    """Append-only: who did what to an obligation, when and why, and the status it left."""

    __tablename__ = "obligation_audit"
    __table_args__ = (Index("ix_obligation_audit_obligation", "obligation_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    obligation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("obligations.id", ondelete="CASCADE"))
    # "user:<uuid>", "svc:<name>", "stripe" or "system"
    actor: Mapped[str] = mapped_column(Text)
    actor_roles: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    action: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(Text)
    status_before: Mapped[str | None] = mapped_column(String(16))
    status_after: Mapped[str | None] = mapped_column(String(16))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
