"""A local stand-in for Google's OpenID provider: token endpoint (checks client secret,
redirect URI and the PKCE verifier) and JWKS over real HTTP; the user's consent at the
authorization endpoint is simulated by `consent()`."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mcm_devstack.engines import free_port, wait_for_port

CLIENT_ID, CLIENT_SECRET = "google-client-id.apps.test", "google-client-secret"


@dataclass
class FakeProvider:
    base: str = ""
    key: Any = field(default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048))
    kid: str = "fake-key-1"
    grants: dict[str, dict[str, Any]] = field(default_factory=dict)
    override_nonce: str | None = None

    def consent(
        self, authorization_url: str, *, sub: str, email: str, email_verified: bool = True, name: str = "Google User"
    ) -> tuple[str, str]:
        """What Google does when the user agrees: remember the request, hand back code + state."""
        query = {k: v[0] for k, v in parse_qs(urlparse(authorization_url).query).items()}
        assert query["code_challenge_method"] == "S256" and query["response_type"] == "code"
        code = secrets.token_urlsafe(16)
        self.grants[code] = {
            **query,
            "identity": {"sub": sub, "email": email, "email_verified": email_verified, "name": name},
        }
        return code, query["state"]

    async def token(self, request: Request) -> JSONResponse:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        grant = self.grants.pop(form.get("code", ""), None)
        if grant is None or form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(form.get("code_verifier", "").encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        if challenge != grant["code_challenge"] or form.get("redirect_uri") != grant["redirect_uri"]:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        now = int(time.time())
        claims = {
            "iss": self.base,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": self.override_nonce or grant["nonce"],
            **grant["identity"],
        }
        id_token = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})
        return JSONResponse(
            {"access_token": "ya29.fake", "id_token": id_token, "token_type": "Bearer", "expires_in": 3599}
        )

    async def jwks(self, request: Request) -> JSONResponse:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return JSONResponse({"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]})


def start_provider() -> tuple[FakeProvider, uvicorn.Server]:
    provider = FakeProvider()
    app = Starlette(routes=[Route("/token", provider.token, methods=["POST"]), Route("/jwks", provider.jwks)])
    port = free_port()
    provider.base = f"http://127.0.0.1:{port}"
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    threading.Thread(target=server.run, daemon=True).start()
    wait_for_port(port)
    return provider, server


def google_settings(provider: FakeProvider) -> dict[str, Any]:
    return {
        "google_client_id": CLIENT_ID,
        "google_client_secret": CLIENT_SECRET,
        "google_authorization_endpoint": f"{provider.base}/authorize",
        "google_token_endpoint": f"{provider.base}/token",
        "google_jwks_uri": f"{provider.base}/jwks",
        "google_issuer": provider.base,
        "google_redirect_uri": "http://127.0.0.1:3000/signed-in",
    }
