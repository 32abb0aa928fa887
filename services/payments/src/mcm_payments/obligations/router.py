"""HTTP for reading obligations: a member's own, or any (support, admin) with its audit trail."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from mcm_payments.deps import InterventionStaff
from mcm_payments.obligations import service
from mcm_payments.obligations.schemas import AuditEntry, AuditPage, Obligation, ObligationPage
from mcm_shared.errors import Forbidden, NotFound, problem_responses
from mcm_shared.pagination import PageParams, page_params
from mcm_shared.security import CurrentPrincipal
from mcm_shared.wiring import SessionDep

router = APIRouter(prefix="/api/v1/payments/obligations", tags=["obligations"])
ObligationID = Annotated[uuid.UUID, Path()]
Paging = Annotated[PageParams, Depends(page_params)]


@router.get(
    "",
    summary="My obligations (what I owe and where each stands); support and admin: one member's with `user_id`",
    responses=problem_responses(Forbidden),
)
async def my_obligations(
    principal: CurrentPrincipal,
    session: SessionDep,
    paging: Paging,
    user_id: Annotated[uuid.UUID | None, Query(description="Whose obligations (support, admin); default: mine")] = None,
) -> ObligationPage:
    rows, cursor = await service.list_mine(
        session, principal, limit=paging.limit, cursor=paging.cursor, user_id=user_id
    )
    return ObligationPage(items=[Obligation.of(row) for row in rows], next_cursor=cursor)


@router.get(
    "/{obligation_id}", summary="One obligation (mine, or any for staff)", responses=problem_responses(NotFound)
)
async def get_obligation(obligation_id: ObligationID, principal: CurrentPrincipal, session: SessionDep) -> Obligation:
    return Obligation.of(await service.get_visible(session, principal, obligation_id))


@router.get(
    "/{obligation_id}/audit",
    summary="Everything done to an obligation: who, when, what, why (support, admin)",
    responses=problem_responses(Forbidden, NotFound),
)
async def obligation_audit(
    obligation_id: ObligationID, principal: InterventionStaff, session: SessionDep, paging: Paging
) -> AuditPage:
    rows, cursor = await service.audit_trail(session, obligation_id, limit=paging.limit, cursor=paging.cursor)
    return AuditPage(items=[AuditEntry.model_validate(row) for row in rows], next_cursor=cursor)
