"""HTTP for the OAuth2 token endpoint (client credentials, RFC 6749 §4.4)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from mcm_auth.clients import service
from mcm_auth.clients.errors import InvalidClient, InvalidTokenRequest
from mcm_auth.deps import Client, RuntimeDep
from mcm_shared.errors import RateLimited, problem_responses

router = APIRouter(prefix="/api/v1/auth", tags=["service tokens"])

_MAX_BODY = 4096


class ServiceToken(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 (the OAuth token type, not a secret)
    expires_in: int


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > _MAX_BODY:
        raise InvalidTokenRequest("The request body is too large.")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if content_type == "application/json":
            data: Any = json.loads(body or b"{}")
            if not isinstance(data, dict):
                raise ValueError
            return {str(k): str(v) for k, v in data.items() if isinstance(v, str)}
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (ValueError, UnicodeDecodeError):
        raise InvalidTokenRequest("The request body cannot be read.") from None
    if any(len(values) > 1 for values in parsed.values()):
        raise InvalidTokenRequest("Parameters must not repeat.")  # RFC 6749 §3.2
    return {key: values[0] for key, values in parsed.items()}


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        client_id, sep, secret = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidClient("Malformed Basic credentials.") from None
    return (client_id, secret) if sep else None


@router.post(
    "/token",
    response_model=ServiceToken,
    responses=problem_responses(InvalidClient, InvalidTokenRequest, RateLimited),
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["grant_type"],
                        "properties": {
                            "grant_type": {"type": "string", "enum": ["client_credentials"]},
                            "client_id": {"type": "string"},
                            "client_secret": {"type": "string"},
                        },
                    }
                }
            }
        }
    },
)
async def token(request: Request, response: Response, runtime: RuntimeDep, client: Client) -> ServiceToken:
    """A short-lived token for service-to-service calls (`aud=internal`, `sub=svc:<name>`).
    Authenticate with HTTP Basic or client_id/client_secret in the form."""
    form = await _form(request)
    if form.get("grant_type") != "client_credentials":
        raise InvalidTokenRequest("Only grant_type=client_credentials is supported.", error="unsupported_grant_type")
    credentials = _basic_credentials(request) or (form.get("client_id", ""), form.get("client_secret", ""))
    access, ttl = await service.issue(
        runtime, client_id=credentials[0], client_secret=credentials[1], client_ip=client.ip_address
    )
    response.headers["Cache-Control"] = "no-store"
    return ServiceToken(access_token=access, expires_in=ttl)
