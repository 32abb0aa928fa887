"""A test token issuer: an ES256 key, its JWKS, and access tokens shaped like auth's."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm


@dataclass
class TestIssuer:
    issuer: str = "mcm-auth"
    audience: str = "mcm-api"
    kid: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))

    def jwks(self) -> dict[str, Any]:
        jwk = ECAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        jwk.update({"kid": self.kid, "use": "sig", "alg": "ES256"})
        return {"keys": [jwk]}

    def token(
        self,
        user_id: uuid.UUID | str | None = None,
        *,
        roles: tuple[str, ...] | list[str] = ("member",),
        session_id: uuid.UUID | None = None,
        ttl: int = 900,
        **overrides: Any,
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": str(user_id or uuid.uuid4()),
            "iat": now,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
            "sid": str(session_id or uuid.uuid4()),
            "roles": list(roles),
            "typ": "access",
        }
        claims.update(overrides)
        return jwt.encode(claims, self.key, algorithm="ES256", headers={"kid": self.kid})

    def headers(self, user_id: uuid.UUID | str | None = None, **kwargs: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user_id, **kwargs)}"}
