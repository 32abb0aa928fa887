"""HTTP for manual intervention (support, admin)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path

from mcm_payments.deps import InterventionStaff, RuntimeDep
from mcm_payments.history.service import payment_entry
from mcm_payments.idempotency import IdempotencyKeyReused
from mcm_payments.interventions import service
from mcm_payments.interventions.errors import AmountExceedsDue, InvalidPause
from mcm_payments.interventions.schemas import (
    Note,
    NoteCreate,
    OfflinePaymentCreate,
    OfflinePaymentResult,
    PauseRequest,
    Queue,
    QueueItem,
    ReminderQueued,
    ResolveRequest,
    ResumeRequest,
    WaiveRequest,
)
from mcm_payments.obligations.errors import NothingDue, NotPaused, ObligationClosed, ObligationNotFound
from mcm_payments.obligations.schemas import AuditEntry, Obligation
from mcm_shared.errors import Forbidden, RateLimited, problem_responses
from mcm_shared.pagination import PageParams, page_params
from mcm_shared.wiring import SessionDep

router = APIRouter(prefix="/api/v1/payments", tags=["interventions"])
ObligationID = Annotated[uuid.UUID, Path()]
COMMON = (Forbidden, ObligationNotFound, ObligationClosed)


@router.get(
    "/interventions",
    summary="The queue: overdue obligations and those flagged for attention, oldest first",
    responses=problem_responses(Forbidden),
)
async def intervention_queue(
    principal: InterventionStaff, session: SessionDep, paging: Annotated[PageParams, Depends(page_params)]
) -> Queue:
    rows, notes, cursor = await service.queue(session, limit=paging.limit, cursor=paging.cursor)
    items = []
    for row in rows:
        last = notes.get(row.id)
        items.append(
            QueueItem(
                obligation=Obligation.of(row),
                attention=row.attention,
                last_reminder_at=row.last_reminder_at,
                last_note=Note(text=last.reason or "", actor=last.actor, at=last.created_at) if last else None,
            )
        )
    return Queue(items=items, next_cursor=cursor)


@router.post(
    "/obligations/{obligation_id}/offline-payment",
    status_code=201,
    summary="Record a cash, cheque or bank transfer payment",
    responses=problem_responses(*COMMON, NothingDue, AmountExceedsDue, IdempotencyKeyReused),
)
async def record_offline_payment(
    obligation_id: ObligationID,
    body: OfflinePaymentCreate,
    principal: InterventionStaff,
    session: SessionDep,
    runtime: RuntimeDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> OfflinePaymentResult:
    payment, obligation = await service.offline_payment(
        session,
        runtime,
        principal,
        obligation_id,
        amount=body.amount,
        method=body.method,
        note=body.note,
        key=idempotency_key,
    )
    return OfflinePaymentResult(payment=payment_entry(payment), obligation=Obligation.of(obligation))


@router.post(
    "/obligations/{obligation_id}/waive",
    summary="Waive: nothing more is owed or collected",
    responses=problem_responses(*COMMON),
)
async def waive(
    obligation_id: ObligationID,
    body: WaiveRequest,
    principal: InterventionStaff,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Obligation:
    return Obligation.of(await service.waive(session, runtime, principal, obligation_id, reason=body.reason))


@router.post(
    "/obligations/{obligation_id}/pause",
    summary="Pause collection until a date",
    responses=problem_responses(*COMMON, InvalidPause),
)
async def pause(
    obligation_id: ObligationID,
    body: PauseRequest,
    principal: InterventionStaff,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Obligation:
    return Obligation.of(
        await service.pause(session, runtime, principal, obligation_id, until=body.until, reason=body.reason)
    )


@router.post(
    "/obligations/{obligation_id}/resume", summary="End a pause now", responses=problem_responses(*COMMON, NotPaused)
)
async def resume(
    obligation_id: ObligationID,
    principal: InterventionStaff,
    session: SessionDep,
    runtime: RuntimeDep,
    body: ResumeRequest | None = None,
) -> Obligation:
    return Obligation.of(
        await service.resume(session, runtime, principal, obligation_id, reason=body.reason if body else None)
    )


@router.post(
    "/obligations/{obligation_id}/notes",
    status_code=201,
    summary="Add a note to the obligation's trail",
    responses=problem_responses(Forbidden, ObligationNotFound),
)
async def add_note(
    obligation_id: ObligationID, body: NoteCreate, principal: InterventionStaff, session: SessionDep
) -> AuditEntry:
    return AuditEntry.model_validate(await service.note(session, principal, obligation_id, text=body.text))


@router.post(
    "/obligations/{obligation_id}/reminders",
    status_code=202,
    summary="Ask auth to send the member a payment reminder",
    responses=problem_responses(*COMMON, NothingDue, RateLimited),
)
async def send_reminder(
    obligation_id: ObligationID, principal: InterventionStaff, session: SessionDep, runtime: RuntimeDep
) -> ReminderQueued:
    obligation = await service.remind(session, runtime, principal, obligation_id)
    if obligation.last_reminder_at is None:  # held by a foreign key / the lock taken above
        raise RuntimeError("obligation.last_reminder_at is missing")
    return ReminderQueued(
        obligation_id=obligation.id, recipient_user_id=obligation.user_id, queued_at=obligation.last_reminder_at
    )


@router.post(
    "/obligations/{obligation_id}/resolve",
    summary="Clear the attention flag, saying what was done",
    responses=problem_responses(Forbidden, ObligationNotFound),
)
async def resolve(
    obligation_id: ObligationID, body: ResolveRequest, principal: InterventionStaff, session: SessionDep
) -> Obligation:
    return Obligation.of(await service.resolve(session, principal, obligation_id, note_text=body.note))
