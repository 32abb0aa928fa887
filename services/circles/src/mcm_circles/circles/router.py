"""HTTP for circles."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from mcm_shared.errors import Unauthenticated, problem_responses
from mcm_shared.pagination import Page, PageParams, page_params
from mcm_shared.tokens import CurrentPrincipal

from mcm_circles.circles.schemas import Circle

router = APIRouter(prefix="/api/v1/circles", tags=["circles"])


@router.get("", response_model=Page[Circle], responses=problem_responses(Unauthenticated))
async def list_circles(principal: CurrentPrincipal, page: Annotated[PageParams, Depends(page_params)]) -> Page[Circle]:
    return Page[Circle](items=[], next_cursor=None)
