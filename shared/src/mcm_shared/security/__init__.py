"""Identity and tokens (ARCHITECTURE.md §4): the shared access-token verifier.

`principal` — who is calling; `jwks` — auth's public keys, cached; `verifier` — strict ES256
verification; `dependencies` — FastAPI dependencies and `make_verifier`; `internal` — who may
call `/internal/` routes (`require_service`); `roles` — the role names tokens carry;
`permissions` — what each role may do. Import these names from `mcm_shared.security`.
"""

from mcm_shared.security.dependencies import (
    CurrentPrincipal,
    bearer_token,
    current_principal,
    make_verifier,
    require_permission,
    require_roles,
)
from mcm_shared.security.internal import INTERNAL_AUDIENCE, internal_verifier, require_service
from mcm_shared.security.jwks import ALGORITHM, JWKSCache, parse_jwks
from mcm_shared.security.permissions import PERMISSIONS, permissions_of, roles_with
from mcm_shared.security.principal import Principal
from mcm_shared.security.roles import ROLE_NAMES, Role
from mcm_shared.security.verifier import INVALID_TOKEN_DETAIL, KeyNotCached, TokenVerifier

__all__ = [
    "ALGORITHM",
    "INTERNAL_AUDIENCE",
    "INVALID_TOKEN_DETAIL",
    "PERMISSIONS",
    "ROLE_NAMES",
    "CurrentPrincipal",
    "JWKSCache",
    "KeyNotCached",
    "Principal",
    "Role",
    "TokenVerifier",
    "bearer_token",
    "current_principal",
    "internal_verifier",
    "make_verifier",
    "parse_jwks",
    "permissions_of",
    "require_permission",
    "require_roles",
    "require_service",
    "roles_with",
]
