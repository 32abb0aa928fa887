"""What a client may send on the proxy path, checked on the headers before anything is read or
forwarded: sizes (413/414/431), request framing the gateway will not pass on (400/501), and the
deadlines its body must arrive within (408).

uvicorn (httptools/llhttp) parses the request; these checks judge what it parsed. Header and URL
sizes are also capped while parsing (`front.py`), so an endless header never fills memory.
"""

from __future__ import annotations

from mcm_gateway.headers import RequestHeaders
from mcm_shared.errors import ProblemError


class RefusedRequest(ProblemError):
    """A refusal after which the client connection is closed (the unread rest of the request, if
    any, must never be taken for a next request)."""

    close_connection = True


class PayloadTooLarge(ProblemError):
    status, type_slug, title = 413, "payload-too-large", "Payload too large"


class UriTooLong(ProblemError):
    status, type_slug, title = 414, "uri-too-long", "URI too long"


class HeadersTooLarge(ProblemError):
    status, type_slug, title = 431, "headers-too-large", "Request header fields too large"


class AmbiguousRequest(RefusedRequest):
    status, type_slug, title = 400, "ambiguous-request", "Ambiguous request"


class UpgradeRefused(RefusedRequest):
    status, type_slug, title = 400, "upgrade-refused", "Protocol upgrade not supported here"


class TrailersRefused(RefusedRequest):
    status, type_slug, title = 400, "trailers-refused", "Request trailers are not accepted"


class CodingNotImplemented(RefusedRequest):
    status, type_slug, title = 501, "transfer-coding-not-implemented", "Transfer coding not implemented"


class BodyTimeout(RefusedRequest):
    status, type_slug, title = 408, "request-timeout", "Request timeout"


class TooManyInFlight(ProblemError):
    status, type_slug, title = 429, "too-many-requests", "Too many requests"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"Retry-After": "1"})


class RequestLimits:
    def __init__(
        self,
        *,
        max_body_bytes: int,
        max_header_bytes: int,
        max_url_bytes: int = 8 * 1024,
        body_idle_seconds: float = 10.0,
        body_total_seconds: float = 30.0,
    ) -> None:
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes
        self.max_url_bytes = max_url_bytes
        self.body_idle_seconds = body_idle_seconds
        self.body_total_seconds = body_total_seconds

    def check_request(self, method: str, url_size: int, found: RequestHeaders) -> None:
        if found.upgrade or method == "CONNECT":
            # uvicorn/llhttp skip the body of an Upgrade (or CONNECT) request and parse what
            # follows as the next request; the only safe answer is a refusal that closes the
            # connection.
            raise UpgradeRefused("This endpoint does not switch protocols.")
        if url_size > self.max_url_bytes:
            raise UriTooLong("The request URL is too long.")
        if found.size > self.max_header_bytes:
            raise HeadersTooLarge("The request headers are too large.")
        if found.authorizations > 1:
            raise AmbiguousRequest("More than one Authorization header.")
        if found.hosts > 1:
            raise AmbiguousRequest("More than one Host header.")
        coding = found.transfer_encoding
        if coding is not None and coding.strip().lower() != b"chunked":
            raise CodingNotImplemented("Only the chunked transfer coding is accepted.")
        length = found.content_length
        if length is not None:
            if not length.isdigit():
                raise AmbiguousRequest("Content-Length is not a number.")
            if int(length) > self.max_body_bytes:
                raise self.too_large()

    def check_body_size(self, received: int) -> None:
        if received > self.max_body_bytes:
            raise self.too_large()

    def too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"The request body is larger than {self.max_body_bytes} bytes.")
