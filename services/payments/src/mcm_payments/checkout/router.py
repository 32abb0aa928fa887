"""HTTP for starting a payment."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header

from mcm_payments.checkout import service
from mcm_payments.checkout.errors import CollectionPaused, PaymentInProgress
from mcm_payments.checkout.schemas import Checkout, CheckoutCreate
from mcm_payments.deps import RuntimeDep
from mcm_payments.idempotency import IdempotencyKeyReused
from mcm_payments.obligations.errors import NothingDue
from mcm_payments.stripe_api import StripeRejected, StripeUnavailable
from mcm_shared.errors import NotFound, problem_responses
from mcm_shared.security import CurrentPrincipal
from mcm_shared.wiring import SessionDep

router = APIRouter(prefix="/api/v1/payments", tags=["checkout"])


@router.post(
    "/checkout",
    status_code=201,
    summary="Start paying one of my obligations (returns the page to send the browser to)",
    responses=problem_responses(
        NotFound,
        NothingDue,
        PaymentInProgress,
        CollectionPaused,
        IdempotencyKeyReused,
        StripeRejected,
        StripeUnavailable,
    ),
)
async def start_checkout(
    body: CheckoutCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
    runtime: RuntimeDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Checkout:
    return await service.start(session, runtime, principal, obligation_id=body.obligation_id, key=idempotency_key)
