"""HTTP for refunds (staff)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Path

from mcm_payments.deps import RefundStaff, RuntimeDep
from mcm_payments.idempotency import IdempotencyKeyReused
from mcm_payments.refunds import service
from mcm_payments.refunds.errors import PaymentNotFound, RefundExceedsPayment
from mcm_payments.refunds.schemas import Refund, RefundCreate
from mcm_shared.errors import Forbidden, problem_responses
from mcm_shared.wiring import SessionDep

router = APIRouter(prefix="/api/v1/payments", tags=["refunds"])
PaymentID = Annotated[uuid.UUID, Path(description="A payment's id (from history or an obligation's payments)")]


@router.post(
    "/{payment_id}/refunds",
    status_code=201,
    summary="Refund a payment, in full or in part (support, admin)",
    responses=problem_responses(Forbidden, PaymentNotFound, RefundExceedsPayment, IdempotencyKeyReused),
)
async def create_refund(
    payment_id: PaymentID,
    body: RefundCreate,
    principal: RefundStaff,
    session: SessionDep,
    runtime: RuntimeDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Refund:
    refund = await service.request(
        session, runtime, principal, payment_id=payment_id, amount=body.amount, reason=body.reason, key=idempotency_key
    )
    return Refund.model_validate(refund)


@router.get(
    "/{payment_id}/refunds",
    summary="Refunds of a payment (support, admin)",
    responses=problem_responses(Forbidden, PaymentNotFound),
)
async def list_refunds(payment_id: PaymentID, principal: RefundStaff, session: SessionDep) -> list[Refund]:
    return [Refund.model_validate(refund) for refund in await service.list_for_payment(session, payment_id)]
