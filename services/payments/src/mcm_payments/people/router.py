"""Internal HTTP: one person's money for auth (support overview, privacy export). Never routed
by the gateway; only auth's service token opens it."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.encoders import jsonable_encoder

from mcm_payments.people import service
from mcm_shared.security import require_service
from mcm_shared.wiring import SessionDep

router = APIRouter(prefix="/internal/v1/users", tags=["internal"], dependencies=[Depends(require_service("auth"))])


@router.get("/{user_id}/overview")
async def person_overview(user_id: uuid.UUID, db: SessionDep) -> dict[str, Any]:
    """His obligations and payments."""
    result: dict[str, Any] = jsonable_encoder(await service.overview(db, user_id))
    return result


@router.get("/{user_id}/export")
async def person_export(user_id: uuid.UUID, db: SessionDep) -> dict[str, Any]:
    """Everything payments holds about him (docs/privacy.md lists each field)."""
    result: dict[str, Any] = jsonable_encoder(await service.export(db, user_id))
    return result
