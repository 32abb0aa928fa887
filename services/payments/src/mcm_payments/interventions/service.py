"""Manual intervention by support and admin: record offline payments, waive, pause and resume
collection, keep notes, send reminders, clear flags. Every action is written to the
obligation's audit trail with who, when, what and why, and shows in the member's status.
Each use case commits once."""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_payments import idempotency
from mcm_payments.closing import service as closing
from mcm_payments.interventions.errors import AmountExceedsDue, InvalidPause
from mcm_payments.ledger.models import Payment
from mcm_payments.ledger.repository import LedgerRepository
from mcm_payments.obligations import bus, standing
from mcm_payments.obligations.errors import NothingDue, NotPaused, ObligationClosed, ObligationNotFound
from mcm_payments.obligations.models import TERMINAL, Obligation, ObligationAudit
from mcm_payments.obligations.repository import ObligationRepository
from mcm_payments.roles import actor_of
from mcm_payments.runtime import PaymentsRuntime
from mcm_payments.tasks import service as stripe_tasks
from mcm_shared.errors import RateLimited
from mcm_shared.pagination import next_page, parse_datetime, read_cursor
from mcm_shared.security import Principal

# Cursors name their list, so one list's cursor is refused by another (mcm_shared.pagination).
QUEUE_SORT = "intervention_queue"

MAX_PAUSE = timedelta(days=366)


async def _open(session: AsyncSession, obligation_id: uuid.UUID) -> Obligation:
    obligation = await ObligationRepository(session).lock(obligation_id)
    if obligation is None:
        raise ObligationNotFound("No such obligation.")
    if obligation.status in TERMINAL:
        raise ObligationClosed(f"This obligation is {obligation.status}.")
    return obligation


def _audit(
    session: AsyncSession,
    obligation: Obligation,
    principal: Principal | None,
    action: str,
    *,
    before: str,
    reason: str | None = None,
    **data: Any,
) -> ObligationAudit:
    return ObligationRepository(session).audit(
        obligation,
        actor=actor_of(principal) if principal else "system",
        actor_roles=sorted(principal.roles) if principal else (),
        action=action,
        reason=reason,
        status_before=before,
        data={k: str(v) if isinstance(v, uuid.UUID) else v for k, v in data.items()},
    )


async def queue(
    session: AsyncSession, *, limit: int, cursor: str | None
) -> tuple[list[Obligation], dict[uuid.UUID, ObligationAudit], str | None]:
    repository = ObligationRepository(session)
    rows = await repository.queue(limit, read_cursor(cursor, QUEUE_SORT, parse_datetime))
    items, next_cursor = next_page(rows, limit, QUEUE_SORT, lambda o: (o.overdue_since or o.created_at, o.id))
    return items, await repository.last_note([o.id for o in items]), next_cursor


async def offline_payment(
    session: AsyncSession,
    runtime: PaymentsRuntime,
    principal: Principal,
    obligation_id: uuid.UUID,
    *,
    amount: int,
    method: str,
    note: str | None,
    key: str | None,
) -> tuple[Payment, Obligation]:
    key = idempotency.validate_key(key)
    digest = idempotency.request_hash(
        {"obligation_id": str(obligation_id), "amount": amount, "method": method, "note": note}
    )
    if (replayed := await _replayed(session, principal, key, digest)) is not None:
        return replayed
    obligation = await _open(session, obligation_id)
    if (replayed := await _replayed(session, principal, key, digest)) is not None:
        return replayed  # a twin request finished while we waited for the lock
    if obligation.amount_due <= 0:
        raise NothingDue("Nothing is due on this obligation.")
    if amount > obligation.amount_due:
        raise AmountExceedsDue(
            f"At most {obligation.amount_due} {obligation.currency} is due.",
            errors=[{"loc": ["body", "amount"], "msg": "more than is due", "type": "value_error"}],
        )
    ledger = LedgerRepository(session)
    payment = await ledger.record_payment(
        obligation_id=obligation.id,
        user_id=obligation.user_id,
        source="offline",
        method=method,
        amount=amount,
        currency=obligation.currency,
        note=note,
        recorded_by=actor_of(principal),
        paid_at=datetime.now(UTC),
    )
    if payment is None:  # held by a foreign key / the lock taken above
        raise RuntimeError("payment is missing")
    before = await standing.refresh(session, runtime, obligation, method="offline")
    if obligation.amount_due == 0:
        # Stripe must stop retrying what was settled in cash: mark those invoices paid there too.
        failed = await ledger.unpaid_failed_invoices(obligation.id)
        await ledger.mark_paid_locally([invoice.id for invoice in failed])
        for invoice in failed:
            stripe_tasks.enqueue(
                session, "pay_invoice_out_of_band", invoice.stripe_invoice_id, obligation_id=obligation.id
            )
    _audit(
        session,
        obligation,
        principal,
        "offline_payment",
        before=before,
        reason=note,
        payment_id=payment.id,
        amount=amount,
        method=method,
    )
    await idempotency.remember(
        session, "offline-payment", principal.subject, key, digest, {"payment_id": str(payment.id)}
    )
    await session.commit()
    runtime.kick()
    return payment, obligation


async def _replayed(
    session: AsyncSession, principal: Principal, key: str | None, digest: str
) -> tuple[Payment, Obligation] | None:
    stored = await idempotency.replay(session, "offline-payment", principal.subject, key, digest)
    if stored is None:
        return None
    payment = await LedgerRepository(session).payment(uuid.UUID(stored["payment_id"]))
    if payment is None:  # held by a foreign key / the lock taken above
        raise RuntimeError("payment is missing")
    obligation = await ObligationRepository(session).get(payment.obligation_id)
    if obligation is None:  # held by a foreign key / the lock taken above
        raise RuntimeError("obligation is missing")
    return payment, obligation


async def waive(
    session: AsyncSession, runtime: PaymentsRuntime, principal: Principal, obligation_id: uuid.UUID, *, reason: str
) -> Obligation:
    obligation = await _open(session, obligation_id)
    waived = obligation.amount_due
    before = await closing.close(session, obligation, reason="waived", at_period_end=False, status="waived")
    await bus.publish_waived(session, runtime.writer, obligation, reason=reason, amount_waived=waived)
    _audit(session, obligation, principal, "waive", before=before, reason=reason, amount_waived=waived)
    await session.commit()
    runtime.kick()
    return obligation


async def pause(
    session: AsyncSession,
    runtime: PaymentsRuntime,
    principal: Principal,
    obligation_id: uuid.UUID,
    *,
    until: datetime,
    reason: str,
) -> Obligation:
    if until.tzinfo is None:
        raise InvalidPause(
            "`until` needs a timezone.",
            errors=[{"loc": ["body", "until"], "msg": "timezone required", "type": "value_error"}],
        )
    now = datetime.now(UTC)
    if not now < until <= now + MAX_PAUSE:
        raise InvalidPause(
            "`until` must be in the future and at most a year away.",
            errors=[{"loc": ["body", "until"], "msg": "out of range", "type": "value_error"}],
        )
    obligation = await _open(session, obligation_id)
    before = obligation.status
    obligation.status, obligation.paused_until = "paused", until
    subscription = await LedgerRepository(session).live_subscription(obligation.id)
    if subscription is not None:
        stripe_tasks.enqueue(
            session,
            "pause_collection",
            subscription.stripe_subscription_id,
            obligation_id=obligation.id,
            params={"resumes_at": int(until.timestamp())},
        )
    await bus.publish_paused(session, runtime.writer, obligation, reason=reason)
    _audit(session, obligation, principal, "pause", before=before, reason=reason, until=until.isoformat())
    await session.commit()
    runtime.kick()
    return obligation


async def resume(
    session: AsyncSession,
    runtime: PaymentsRuntime,
    principal: Principal | None,
    obligation_id: uuid.UUID,
    *,
    reason: str | None,
) -> Obligation:
    obligation = await _open(session, obligation_id)
    if obligation.status != "paused":
        raise NotPaused("The obligation is not paused.")
    before = await standing.refresh(session, runtime, obligation, unpause=True)
    subscription = await LedgerRepository(session).live_subscription(obligation.id)
    if subscription is not None:
        stripe_tasks.enqueue(
            session, "resume_collection", subscription.stripe_subscription_id, obligation_id=obligation.id
        )
    _audit(
        session,
        obligation,
        principal,
        "resume",
        before=before,
        reason=reason or ("pause ended" if principal is None else None),
    )
    await session.commit()
    runtime.kick()
    return obligation


async def resume_lapsed_pauses(runtime: PaymentsRuntime) -> int:
    """Obligations whose pause has run out go back to normal (the worker calls this)."""
    async with runtime.sessionmaker() as session:
        due = await ObligationRepository(session).paused_until_before(datetime.now(UTC))
    for obligation_id in due:
        async with runtime.sessionmaker() as session:
            with contextlib.suppress(NotPaused, ObligationClosed):  # resumed or closed meanwhile
                await resume(session, runtime, None, obligation_id, reason=None)
    return len(due)


async def note(session: AsyncSession, principal: Principal, obligation_id: uuid.UUID, *, text: str) -> ObligationAudit:
    obligation = await ObligationRepository(session).lock(obligation_id)
    if obligation is None:
        raise ObligationNotFound("No such obligation.")
    entry = _audit(session, obligation, principal, "note", before=obligation.status, reason=text)
    await session.commit()
    return entry


async def resolve(
    session: AsyncSession, principal: Principal, obligation_id: uuid.UUID, *, note_text: str
) -> Obligation:
    obligation = await ObligationRepository(session).lock(obligation_id)
    if obligation is None:
        raise ObligationNotFound("No such obligation.")
    flag, obligation.attention = obligation.attention, None
    _audit(session, obligation, principal, "attention_cleared", before=obligation.status, reason=note_text, flag=flag)
    await session.commit()
    return obligation


async def remind(
    session: AsyncSession, runtime: PaymentsRuntime, principal: Principal, obligation_id: uuid.UUID
) -> Obligation:
    obligation = await _open(session, obligation_id)
    if obligation.amount_due <= 0:
        raise NothingDue("Nothing is due on this obligation, so there is nothing to remind about.")
    now = datetime.now(UTC)
    cooldown = timedelta(seconds=runtime.settings.reminder_cooldown_seconds)
    if obligation.last_reminder_at and now - obligation.last_reminder_at < cooldown:
        raise RateLimited(
            int((obligation.last_reminder_at + cooldown - now).total_seconds()) + 1,
            "A reminder was sent recently; wait before sending another.",
        )
    obligation.last_reminder_at = now
    await bus.request_reminder(session, runtime.writer, obligation, requested_by=actor_of(principal))
    _audit(session, obligation, principal, "reminder_sent", before=obligation.status, amount_due=obligation.amount_due)
    await session.commit()
    return obligation
