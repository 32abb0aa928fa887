"""HTTP for the public key set."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from mcm_auth.deps import RuntimeDep

router = APIRouter(tags=["keys"])


@router.get("/.well-known/jwks.json", summary="Public keys that verify access tokens (ES256)")
async def jwks(runtime: RuntimeDep) -> JSONResponse:
    await runtime.keyring.reload_if_stale(runtime.database)
    max_age = runtime.settings.jwks_max_age_seconds
    # Short caching: verifiers must see a newly pre-published key soon after rotation.
    return JSONResponse(runtime.keyring.jwks, headers={"Cache-Control": f"public, max-age={max_age}"})
