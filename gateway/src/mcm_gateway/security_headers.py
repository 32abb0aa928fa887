"""The browser-facing security headers every gateway answer carries.

One ASGI wrapper around the whole gateway (proxied answers, the gateway's own endpoints, its
404s and problem answers, CORS preflights): on `http.response.start` it drops any copy of these
headers the answer already had (an upstream's own, so none is ever sent twice and the
gateway's policy is the one in force) and appends the precomputed list. Whatever sends the
response — the proxy through `AsgiClient`, FastAPI, Starlette's CORS — goes through here.

- `X-Content-Type-Options: nosniff` — a JSON answer is never sniffed into HTML or script.
- `X-Frame-Options: DENY` (and CSP `frame-ancestors 'none'`) — no page of ours in a frame.
- `Referrer-Policy: strict-origin-when-cross-origin` — other sites learn at most our origin,
  never a path or query (reset and invitation links carry tokens there), and plain-HTTP
  sites nothing. `no-referrer` would be stricter but makes browsers send `Origin: null` on
  same-origin form posts, which would defeat Origin checks against cross-site requests.
- `Content-Security-Policy` — `CONTENT_SECURITY_POLICY` below, one place to extend when the
  web app moves in at `/`.
- `Strict-Transport-Security` — only on answers served over HTTPS: the request's own scheme,
  or `X-Forwarded-Proto: https` from a peer in TRUSTED_PROXIES (browsers ignore it over plain
  HTTP anyway, and an untrusted peer's claim is not believed).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcm_gateway.headers import ClientAddresses
from mcm_gateway.web_app import NEVER_THE_APP

# Directive → sources; extend here (e.g. the web app at `/` may need "style-src": "'self'
# 'unsafe-inline'"). Swagger UI (/docs) runs from files served here with its set-up in a
# static script, so scripts need nothing beyond 'self'; its stylesheet draws icons as data:
# images. Checked in headless Chromium with every operation and model expanded: no violation.
CSP_DIRECTIVES: dict[str, str] = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}
CONTENT_SECURITY_POLICY = "; ".join(f"{name} {sources}" for name, sources in CSP_DIRECTIVES.items())
# The web app's pages (HTML outside the API and /docs: web_app.py) may carry inline styles:
# MUI's styling engine (emotion) writes <style> elements at run time. Scripts stay 'self' only:
# no inline script, no eval.
HTML_CSP_DIRECTIVES: dict[str, str] = {
    **CSP_DIRECTIVES,
    "style-src": "'self' 'unsafe-inline'",
    "manifest-src": "'self'",
}
HTML_CONTENT_SECURITY_POLICY = "; ".join(f"{name} {sources}" for name, sources in HTML_CSP_DIRECTIVES.items())
REFERRER_POLICY = "strict-origin-when-cross-origin"

_COMMON: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", REFERRER_POLICY.encode()),
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
)
_HSTS = b"strict-transport-security"
# ASGI header names are lower case, so a set lookup finds every copy.
OWNED_NAMES = frozenset(name for name, _ in _COMMON) | {_HSTS}


class SecurityHeaders:
    """ASGI wrapper adding the security headers to every HTTP answer of `app`."""

    def __init__(self, app: ASGIApp, addresses: ClientAddresses, *, hsts_max_age_seconds: int = 31_536_000) -> None:
        self.app = app
        self.addresses = addresses
        self._plain = list(_COMMON)
        hsts = [(_HSTS, b"max-age=%d" % hsts_max_age_seconds)] if hsts_max_age_seconds > 0 else []
        self._secure = [*_COMMON, *hsts]
        html_policy = (b"content-security-policy", HTML_CONTENT_SECURITY_POLICY.encode())
        self._plain_html = [
            html_policy if name == b"content-security-policy" else (name, value) for name, value in self._plain
        ]
        self._secure_html = [
            html_policy if name == b"content-security-policy" else (name, value) for name, value in self._secure
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        secure = self._over_https(scope)
        added = self._secure if secure else self._plain
        # Proxied answers and /docs keep the strict policy even when they are HTML.
        added_html = (
            added if scope["path"].startswith(NEVER_THE_APP) else (self._secure_html if secure else self._plain_html)
        )

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", ())
                policy = added
                for name, value in headers:
                    if name == b"content-type" and value.startswith(b"text/html"):
                        policy = added_html
                        break
                for name, _ in headers:  # usually finds none: then no copy is filtered
                    if name in OWNED_NAMES:
                        headers = [header for header in headers if header[0] not in OWNED_NAMES]
                        break
                message["headers"] = [*headers, *policy]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _over_https(self, scope: Scope) -> bool:
        if scope.get("scheme") == "https":
            return True
        if not self.addresses.trusted:  # nobody's X-Forwarded-Proto is believed: skip the scan
            return False
        client = scope.get("client")
        if not client or not self.addresses.is_trusted(client[0]):
            return False
        for name, value in scope["headers"]:
            if name == b"x-forwarded-proto":
                # "https" or "https, http": the first is what the client used at the edge.
                return bool(value.split(b",", 1)[0].strip().lower() == b"https")
        return False
