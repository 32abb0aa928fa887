"""Talking to the OpenID provider: exchange the code, then verify the ID token strictly
(signature from the provider's JWKS, issuer, audience, expiry, nonce)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from mcm_auth.config import Settings
from mcm_auth.oidc.errors import GoogleRejected, GoogleUnavailable

ALLOWED_ALGORITHMS = ["RS256", "ES256"]


@dataclass(frozen=True)
class Pkce:
    verifier: str
    challenge: str


def new_pkce() -> Pkce:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return Pkce(verifier, challenge)


@dataclass(frozen=True)
class GoogleIdentity:
    subject: str
    email: str
    email_verified: bool
    name: str | None


class OidcClient:
    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self.http = http

    async def exchange(self, code: str, verifier: str) -> str:
        settings = self.settings
        try:
            response = await self.http.post(
                settings.google_token_endpoint,
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": settings.google_redirect_uri,
                    "client_id": settings.google_client_id or "",
                    "client_secret": settings.google_client_secret.get_secret_value()
                    if settings.google_client_secret
                    else "",
                    "code_verifier": verifier,
                },
                headers={"Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise GoogleUnavailable("Google cannot be reached right now; try again.") from exc
        if response.status_code >= 500:
            raise GoogleUnavailable("Google cannot be reached right now; try again.")
        if response.status_code != 200:
            raise GoogleRejected("Google did not accept the sign-in; start again.")
        id_token = response.json().get("id_token")
        if not isinstance(id_token, str):
            raise GoogleRejected("Google did not return an identity.")
        return id_token

    async def _keys(self) -> jwt.PyJWKSet:
        try:
            response = await self.http.get(self.settings.google_jwks_uri)
            response.raise_for_status()
            return jwt.PyJWKSet.from_dict(response.json())
        except (httpx.HTTPError, jwt.PyJWTError, ValueError) as exc:
            raise GoogleUnavailable("Google's signing keys cannot be fetched right now.") from exc

    async def verify(self, id_token: str, nonce: str) -> GoogleIdentity:
        try:
            kid = jwt.get_unverified_header(id_token).get("kid")
            key = next((k for k in (await self._keys()).keys if k.key_id == kid), None)
            if key is None:
                raise GoogleRejected("The identity is signed with an unknown key.")
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key.key,
                algorithms=ALLOWED_ALGORITHMS,
                audience=self.settings.google_client_id,
                issuer=self.settings.google_issuer,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
                leeway=30,
            )
        except jwt.PyJWTError as exc:
            raise GoogleRejected("The identity from Google is not valid.") from exc
        if not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
            raise GoogleRejected("The identity from Google does not belong to this sign-in.")
        email = claims.get("email")
        if not isinstance(email, str):
            raise GoogleRejected("Google did not share an email address.")
        return GoogleIdentity(
            subject=str(claims["sub"]),
            email=email,
            email_verified=claims.get("email_verified") in (True, "true"),
            name=claims.get("name") if isinstance(claims.get("name"), str) else None,
        )
