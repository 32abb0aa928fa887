"""HTTP for billing self-service."""

from __future__ import annotations

from fastapi import APIRouter

from mcm_payments.deps import RuntimeDep
from mcm_payments.portal import service
from mcm_payments.portal.errors import MembersOnly, NoBillingAccount
from mcm_payments.portal.schemas import PortalSession
from mcm_payments.stripe_api import StripeRejected, StripeUnavailable
from mcm_shared.errors import problem_responses
from mcm_shared.security import CurrentPrincipal
from mcm_shared.wiring import SessionDep

router = APIRouter(prefix="/api/v1/payments", tags=["portal"])


@router.post(
    "/portal",
    summary="Open my billing portal: update my card, cancel or pause my dues (returns the page to send the browser to)",
    responses=problem_responses(MembersOnly, NoBillingAccount, StripeRejected, StripeUnavailable),
)
async def open_portal(principal: CurrentPrincipal, session: SessionDep, runtime: RuntimeDep) -> PortalSession:
    return PortalSession(url=await service.open_portal(session, runtime, principal))
