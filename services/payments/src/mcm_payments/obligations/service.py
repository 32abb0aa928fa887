"""Obligations: created from circles' events, read by their owner (and staff); closing them is
closing/service.py's. Each use case commits once;
consumer handlers never commit (the consumer commits their work together with the inbox row)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_payments.obligations import bus
from mcm_payments.obligations.errors import ObligationNotFound
from mcm_payments.obligations.models import Obligation, ObligationAudit
from mcm_payments.obligations.repository import ObligationRepository
from mcm_payments.obligations.standing import first_charge
from mcm_payments.roles import can_read_any_obligation
from mcm_payments.runtime import PaymentsRuntime
from mcm_payments.tasks.models import StripeTask
from mcm_shared.errors import Forbidden
from mcm_shared.events import Envelope
from mcm_shared.pagination import next_page, parse_datetime, read_cursor
from mcm_shared.security import Principal

# Cursors name their list, so one list's cursor is refused by another (mcm_shared.pagination).
MINE_SORT = "my_obligations"
AUDIT_SORT = "obligation_audit"


async def list_mine(
    session: AsyncSession, principal: Principal, *, limit: int, cursor: str | None, user_id: uuid.UUID | None = None
) -> tuple[Sequence[Obligation], str | None]:
    """The caller's obligations; or, for payment staff, those of `user_id` (anyone else naming
    another member is refused: 403, whether or not that member owes anything)."""
    if user_id is not None and user_id != principal.user_id:
        if not can_read_any_obligation(principal):
            raise Forbidden("Only support and admin see another member's obligations.")
        owner: uuid.UUID | None = user_id
    else:
        owner = principal.user_id
    if owner is None:
        return [], None
    after = read_cursor(cursor, MINE_SORT, parse_datetime)
    rows = await ObligationRepository(session).list_for_user(owner, limit, after)
    return next_page(rows, limit, MINE_SORT, lambda o: (o.created_at, o.id))


async def lock(session: AsyncSession, obligation_id: uuid.UUID) -> Obligation | None:
    """The obligation, row-locked: every change to one obligation happens one at a time."""
    return await ObligationRepository(session).lock(obligation_id)


async def get_visible(session: AsyncSession, principal: Principal, obligation_id: uuid.UUID) -> Obligation:
    """The obligation if the caller owns it or is payment staff; 404 otherwise (never 403: no probing)."""
    obligation = await ObligationRepository(session).get(obligation_id)
    if obligation is None or (obligation.user_id != principal.user_id and not can_read_any_obligation(principal)):
        raise ObligationNotFound("No such obligation.")
    return obligation


async def audit_trail(
    session: AsyncSession, obligation_id: uuid.UUID, *, limit: int, cursor: str | None
) -> tuple[Sequence[ObligationAudit], str | None]:
    repository = ObligationRepository(session)
    if await repository.get(obligation_id) is None:
        raise ObligationNotFound("No such obligation.")
    rows = await repository.audit_trail(obligation_id, limit, read_cursor(cursor, AUDIT_SORT, parse_datetime))
    return next_page(rows, limit, AUDIT_SORT, lambda entry: (entry.created_at, entry.id))


def audit(session: AsyncSession, obligation: Obligation, **values: Any) -> ObligationAudit:
    """Add an entry to the obligation's audit trail (in the caller's transaction)."""
    return ObligationRepository(session).audit(obligation, **values)


async def open_recurring_of_user(session: AsyncSession, user_id: uuid.UUID) -> Sequence[Obligation]:
    """The user's dues and instalment plans still collected."""
    return await ObligationRepository(session).open_recurring_of_user(user_id)


# -- consumed events ---------------------------------------------------------------------------
async def on_membership_payment_required(session: AsyncSession, runtime: PaymentsRuntime, envelope: Envelope) -> None:
    data = bus.parse(bus.MembershipPaymentRequired, envelope)
    await _create(
        session,
        envelope,
        kind="membership",
        source_id=data.membership_id,
        context_id=data.circle_id,
        user_id=data.user_id,
        amount=data.amount,
        currency=data.currency.upper(),
        interval=data.interval,
        instalments=1,
    )


async def on_registration_payment_required(session: AsyncSession, runtime: PaymentsRuntime, envelope: Envelope) -> None:
    data = bus.parse(bus.RegistrationPaymentRequired, envelope)
    if data.amount < data.instalments:
        raise ValueError("amount is smaller than the number of instalments")
    await _create(
        session,
        envelope,
        kind="registration",
        source_id=data.registration_id,
        context_id=data.event_id,
        user_id=data.user_id,
        amount=data.amount,
        currency=data.currency.upper(),
        interval="month" if data.instalments > 1 else None,
        instalments=data.instalments,
    )


async def _create(session: AsyncSession, envelope: Envelope, **values: Any) -> None:
    probe = Obligation(**{k: values[k] for k in ("kind", "amount", "instalments")})
    repository = ObligationRepository(session)
    obligation = await repository.insert_if_absent(status="pending", amount_due=first_charge(probe), **values)
    if obligation is not None:
        repository.audit(
            obligation,
            actor=f"svc:{envelope.producer}",
            action="created",
            data={"event_id": str(envelope.id), "event": envelope.type},
        )


async def flag_task_failure(session: AsyncSession, task: StripeTask, why: str) -> None:
    """A Stripe task for an obligation failed for good: staff must look at the obligation."""
    if task.obligation_id:
        obligation = await ObligationRepository(session).lock(task.obligation_id)
        if obligation is not None:
            obligation.attention = why[:500]
