"""HTTP for a member's payment history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from mcm_payments.history import service
from mcm_payments.history.schemas import History
from mcm_shared.pagination import PageParams, page_params
from mcm_shared.security import CurrentPrincipal
from mcm_shared.wiring import SessionDep

router = APIRouter(prefix="/api/v1/payments", tags=["history"])


@router.get("/history", summary="My payments (with receipts and refunds) and subscriptions")
async def my_history(
    principal: CurrentPrincipal, session: SessionDep, paging: Annotated[PageParams, Depends(page_params)]
) -> History:
    return await service.history(session, principal, limit=paging.limit, cursor=paging.cursor)
