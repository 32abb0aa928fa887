"""The refresh token as a browser cookie (the web app, issue 17).

A browser asks with `X-Refresh-Cookie: 1`; it then gets the refresh token only as an HttpOnly,
SameSite=Strict cookie scoped to `/api/v1/auth` (Secure when PUBLIC_APP_URL is https), so no
script can read it, and refresh takes it from the cookie when the body has none. A cookie is sent
by the browser whoever made the page, so every request that uses one — or asks for one, so an
attacker cannot sign a victim into the attacker's account — must also carry `X-CSRF: 1`: a
cross-site form cannot set a header, and a cross-site fetch that sets one needs a CORS preflight
the gateway refuses for origins not in CORS_ORIGINS. SameSite=Strict alone would leave
same-site subdomains and old browsers open.
"""

from __future__ import annotations

from fastapi import Request, Response

from mcm_shared.errors import Forbidden

NAME = "mcm_refresh"
PATH = "/api/v1/auth"
WANTS_COOKIE = "x-refresh-cookie"
CSRF_HEADER = "x-csrf"


class CsrfHeaderRequired(Forbidden):
    type_slug, title = "csrf-header-required", "This request needs the X-CSRF: 1 header"


def wants_cookie(request: Request) -> bool:
    return request.headers.get(WANTS_COOKIE) == "1"


def require_csrf_header(request: Request) -> None:
    if request.headers.get(CSRF_HEADER) != "1":
        raise CsrfHeaderRequired("Requests that use the refresh cookie must send the X-CSRF: 1 header.")


def from_request(request: Request) -> str | None:
    return request.cookies.get(NAME) or None


def set_on(response: Response, token: str, *, max_age: int, secure: bool) -> None:
    response.set_cookie(NAME, token, max_age=max_age, path=PATH, secure=secure, httponly=True, samesite="strict")


def clear_on(response: Response, *, secure: bool) -> None:
    response.delete_cookie(NAME, path=PATH, secure=secure, httponly=True, samesite="strict")
