"""Event bus wiring: what payments consumes (from circles, and `user.erased` from auth) and where
it publishes.

Publishes to `events:payments` through the outbox (relay started in main.py); consumes
`events:circles` and `events:auth` as consumer group `payments`, applying each event exactly once through the
inbox. Handlers run inside the consumer's transaction and never commit themselves.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy import event as orm_event
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_payments.closing import service as closing
from mcm_payments.obligations import service as obligations
from mcm_payments.people import service as people
from mcm_payments.refunds import service as refunds
from mcm_payments.runtime import PaymentsRuntime
from mcm_payments.tasks import service as tasks
from mcm_shared.events import Envelope, Handler, stream_for

GROUP = "payments"
PRODUCER = "payments"


@dataclass(frozen=True)
class Streams:
    """Stream names; tests pass their own so that runs never share a stream."""

    publish: str = stream_for(PRODUCER)
    consume: tuple[str, ...] = field(default=(stream_for("circles"), stream_for("auth")))


ServiceHandler = Callable[[AsyncSession, PaymentsRuntime, Envelope], Awaitable[None]]

CONSUMED: dict[str, ServiceHandler] = {
    "membership.payment_required": obligations.on_membership_payment_required,
    "registration.payment_required": obligations.on_registration_payment_required,
    "membership.ended": closing.on_membership_ended,
    "registration.expired": closing.on_registration_expired,
    "registration.cancelled": refunds.on_registration_cancelled,
    "event.cancelled": refunds.on_event_cancelled,
    "user.erased": people.on_user_erased,
}


def handlers(runtime: PaymentsRuntime) -> dict[str, Handler]:
    def bind(handler: ServiceHandler) -> Handler:
        async def handle(session: AsyncSession, envelope: Envelope) -> None:
            await handler(session, runtime, envelope)
            # Stripe tasks a handler enqueues (refunds, cancels, expiries) run once the consumer
            # has committed them with the inbox row: wake the worker then, not a poll later. Only
            # then: most events enqueue none (an obligation opened for a held seat), and a wake-up
            # costs the worker a pass over tasks and webhooks (two transactions) for nothing.
            if tasks.take_enqueued_flag(session):
                orm_event.listen(session.sync_session, "after_commit", lambda _: runtime.kick(), once=True)

        return handle

    return {event_type: bind(handler) for event_type, handler in CONSUMED.items()}
