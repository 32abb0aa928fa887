"""HTTP for the financial overview (leadership, admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from mcm_payments.deps import Leadership
from mcm_payments.overview import service
from mcm_payments.overview.schemas import Overview
from mcm_shared.errors import Forbidden, InvalidInput, problem_responses
from mcm_shared.wiring import SessionDep

router = APIRouter(prefix="/api/v1/payments", tags=["overview"])
Month = Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM (UTC)")]


@router.get(
    "/overview",
    summary="Collected per month, outstanding, overdue, refunds (leadership, admin)",
    responses=problem_responses(Forbidden, InvalidInput),
)
async def financial_overview(
    principal: Leadership,
    session: SessionDep,
    from_: Annotated[str | None, Query(alias="from", pattern=r"^\d{4}-\d{2}$")] = None,
    to: Month = None,
) -> Overview:
    return await service.overview(session, from_month=from_, to_month=to)
