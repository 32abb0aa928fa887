"""HTTP for the public key set."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(tags=["keys"])


@router.get("/.well-known/jwks.json", summary="Public keys that verify access tokens (ES256)")
async def jwks(request: Request) -> JSONResponse:
    state = request.app.state
    await state.keyring.reload_if_stale(state.db)
    max_age = state.settings.jwks_max_age_seconds
    # Short caching: verifiers must see a newly pre-published key soon after rotation.
    return JSONResponse(state.keyring.jwks, headers={"Cache-Control": f"public, max-age={max_age}"})
