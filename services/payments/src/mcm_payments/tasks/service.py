"""Carrying out Stripe side effects recorded as tasks: lease, call Stripe with the task's own
idempotency key, then record the outcome. Transient failures back off and retry; a refusal is
final (and flags the obligation for staff unless the refusal means "already done").

What a task's outcome means for other packages (a refund moving on, an obligation flagged) is
theirs to say: the caller passes those reactions in (`Reactions`), so this package imports none
of the packages that enqueue tasks."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mcm_payments.ledger.service import sync_subscription
from mcm_payments.runtime import PaymentsRuntime
from mcm_payments.stripe_api import StripeApi, StripeRejected, StripeUnavailable
from mcm_payments.tasks.models import StripeTask
from mcm_payments.tasks.repository import TASKS_ENQUEUED, TaskRepository

logger = logging.getLogger("mcm.payments.tasks")

Call = Callable[[StripeApi, StripeTask, str], Awaitable[dict[str, Any]]]

CALLS: dict[str, Call] = {
    "cancel_subscription": lambda api, t, key: api.cancel_subscription(t.target, key),
    "cancel_at_period_end": lambda api, t, key: api.update_subscription(t.target, {"cancel_at_period_end": True}, key),
    "pause_collection": lambda api, t, key: api.update_subscription(
        t.target, {"pause_collection": {"behavior": "void", "resumes_at": t.params["resumes_at"]}}, key
    ),
    "resume_collection": lambda api, t, key: api.update_subscription(t.target, {"pause_collection": ""}, key),
    "pay_invoice_out_of_band": lambda api, t, key: api.pay_invoice_out_of_band(t.target, key),
    "expire_checkout_session": lambda api, t, key: api.expire_checkout_session(t.target, key),
    "submit_refund": lambda api, t, key: api.create_refund(
        {
            "payment_intent": t.params["payment_intent"],
            "amount": t.params["amount"],
            "reason": "requested_by_customer",
            "metadata": {"refund_id": t.target, "obligation_id": str(t.obligation_id)},
        },
        f"refund:{t.target}",
    ),
}
OnDone = Callable[[AsyncSession, PaymentsRuntime, StripeTask, dict[str, Any]], Awaitable[object]]
OnRefused = Callable[[AsyncSession, PaymentsRuntime, StripeTask, StripeRejected], Awaitable[None]]
OnGaveUp = Callable[[AsyncSession, StripeTask, str], Awaitable[None]]


async def _nothing(session: AsyncSession, task: StripeTask, why: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Reactions:
    """What other packages do with a task's outcome, by task kind, all inside the outcome's transaction."""

    done: Mapping[str, OnDone] = field(default_factory=dict)  # Stripe carried the task out (its result)
    refused: Mapping[str, OnRefused] = field(default_factory=dict)  # Stripe refused it for good
    gave_up: OnGaveUp = _nothing  # failed for good, whatever the kind (flag it for staff)


SUBSCRIPTION_KINDS = {"cancel_subscription", "cancel_at_period_end", "pause_collection", "resume_collection"}


def enqueue(
    session: AsyncSession,
    kind: str,
    target: str,
    *,
    obligation_id: uuid.UUID | None = None,
    params: dict[str, Any] | None = None,
) -> StripeTask:
    """Record a Stripe side effect in the caller's transaction; the worker carries it out after commit."""
    return TaskRepository(session).enqueue(kind, target, obligation_id=obligation_id, params=params)


async def changing_subscription(session: AsyncSession, obligation_id: uuid.UUID) -> bool:
    """Whether a change of the obligation's subscription we decided is still to be carried out at
    Stripe (what Stripe says meanwhile is about to be overtaken by it)."""
    return any(task.kind in SUBSCRIPTION_KINDS for task in await TaskRepository(session).pending_for(obligation_id))


def take_enqueued_flag(session: AsyncSession) -> bool:
    """Whether Stripe tasks were enqueued in `session` since the last call (and reset the flag)."""
    return bool(session.info.pop(TASKS_ENQUEUED, False))


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(300, 2 ** max(0, attempts - 1)))


async def run_due(
    sessionmaker: async_sessionmaker[AsyncSession],
    runtime: PaymentsRuntime,
    reactions: Reactions,
    *,
    limit: int = 20,
    task_id: uuid.UUID | None = None,
) -> int:
    async with sessionmaker() as session, session.begin():
        tasks = await TaskRepository(session).lease(limit, task_id)
    for task in tasks:
        await _run(sessionmaker, runtime, reactions, task)
    return len(tasks)


async def _run(
    sessionmaker: async_sessionmaker[AsyncSession], runtime: PaymentsRuntime, reactions: Reactions, task: StripeTask
) -> None:
    try:
        result = await CALLS[task.kind](runtime.stripe, task, f"task:{task.id}")
    except StripeUnavailable as exc:
        async with sessionmaker() as session, session.begin():
            if task.attempts >= runtime.settings.stripe_task_max_attempts:
                await _give_up(session, reactions, task, f"Stripe unavailable after {task.attempts} attempts")
            else:
                await TaskRepository(session).retry_later(
                    task.id, backoff(task.attempts), f"{type(exc).__name__}: {exc}"
                )
        return
    except StripeRejected as exc:
        async with sessionmaker() as session, session.begin():
            await _rejected(session, runtime, reactions, task, exc)
        return
    async with sessionmaker() as session, session.begin():
        await TaskRepository(session).finish(task.id)
        if task.kind in SUBSCRIPTION_KINDS and task.obligation_id and result.get("object") == "subscription":
            await sync_subscription(session, task.obligation_id, result)
        elif (done := reactions.done.get(task.kind)) is not None:
            await done(session, runtime, task, result)


async def _rejected(
    session: AsyncSession, runtime: PaymentsRuntime, reactions: Reactions, task: StripeTask, exc: StripeRejected
) -> None:
    """Stripe said no. For cancels, pays and expiries that usually means it is already so."""
    repository = TaskRepository(session)
    if (refused := reactions.refused.get(task.kind)) is not None:
        await repository.finish(task.id, "failed", exc.detail)
        await refused(session, runtime, task, exc)
        return
    if task.kind in SUBSCRIPTION_KINDS:
        try:
            current = await runtime.stripe.retrieve_subscription(task.target)
        except (StripeRejected, StripeUnavailable):
            current = {}
        if current.get("status") == "canceled":
            await repository.finish(task.id, "done", f"already canceled ({exc.code})")
            if task.obligation_id:
                await sync_subscription(session, task.obligation_id, current)
            return
    elif (
        exc.code in {"invoice_not_open", "checkout_session_not_open", "resource_missing"}
        or "already" in exc.detail.lower()
    ):
        await repository.finish(task.id, "done", exc.detail)
        return
    await _give_up(session, reactions, task, f"Stripe refused {task.kind}: {exc.detail}")


async def _give_up(session: AsyncSession, reactions: Reactions, task: StripeTask, why: str) -> None:
    logger.error("stripe task failed for good", extra={"task_id": str(task.id), "kind": task.kind, "error": why})
    await TaskRepository(session).finish(task.id, "failed", why)
    await reactions.gave_up(session, task, why)
