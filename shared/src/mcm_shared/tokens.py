"""The shared token verifier: the import path services and the gateway use.

The implementation lives in the `mcm_shared.security` package (principal, JWKS cache, verifier,
FastAPI dependencies); this module re-exports its public names.
"""

from mcm_shared.security import (
    ALGORITHM,
    INVALID_TOKEN_DETAIL,
    CurrentPrincipal,
    JWKSCache,
    KeyNotCached,
    Principal,
    TokenVerifier,
    bearer_token,
    current_principal,
    make_verifier,
    parse_jwks,
    require_roles,
)

__all__ = [
    "ALGORITHM",
    "INVALID_TOKEN_DETAIL",
    "CurrentPrincipal",
    "JWKSCache",
    "KeyNotCached",
    "Principal",
    "TokenVerifier",
    "bearer_token",
    "current_principal",
    "make_verifier",
    "parse_jwks",
    "require_roles",
]
