"""The routers' dependencies: the runtime, the session, who may do what, and the path and
query parameters several routers share. Dependencies only read `app.state` (the lifespan fills it)."""

from __future__ import annotations

import uuid
from typing import Annotated, cast

from fastapi import Depends, Header, Path, Request

from mcm_payments.roles import INTERVENTION_ROLES, OVERVIEW_ROLES, REFUND_ROLES
from mcm_payments.runtime import PaymentsRuntime
from mcm_shared.pagination import PageParams, page_params
from mcm_shared.security import Principal, require_roles
from mcm_shared.wiring import SessionDep


async def get_runtime(request: Request) -> PaymentsRuntime:
    # async: a plain `def` dependency would cost a thread-pool round trip on every request.
    return cast(PaymentsRuntime, request.app.state.runtime)


RuntimeDep = Annotated[PaymentsRuntime, Depends(get_runtime)]

InterventionStaff = Annotated[Principal, Depends(require_roles(*INTERVENTION_ROLES))]
RefundStaff = Annotated[Principal, Depends(require_roles(*REFUND_ROLES))]
Leadership = Annotated[Principal, Depends(require_roles(*OVERVIEW_ROLES))]

ObligationID = Annotated[uuid.UUID, Path()]
PaymentID = Annotated[uuid.UUID, Path(description="A payment's id (from history or an obligation's payments)")]
Paging = Annotated[PageParams, Depends(page_params)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]

__all__ = [
    "IdempotencyKey",
    "InterventionStaff",
    "Leadership",
    "ObligationID",
    "Paging",
    "PaymentID",
    "RefundStaff",
    "RuntimeDep",
    "SessionDep",
    "get_runtime",
]
