"""Size limits on what a client may send: body (413) and headers (431).

The body limit is checked against `Content-Length` before anything is forwarded, and counted
while streaming, so a chunked upload cannot slip past it. (The gateway's own server enforces
header and URL size while parsing; this check covers the ASGI mode too.)
"""
from __future__ import annotations

from mcm_shared.errors import ProblemError

from mcm_gateway.headers import RequestHeaders


class PayloadTooLarge(ProblemError):
    status, type_slug, title = 413, "payload-too-large", "Payload too large"


class HeadersTooLarge(ProblemError):
    status, type_slug, title = 431, "headers-too-large", "Request header fields too large"


class RequestLimits:
    def __init__(self, *, max_body_bytes: int, max_header_bytes: int) -> None:
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes

    def check_request(self, request: object, found: RequestHeaders) -> None:
        if found.size > self.max_header_bytes:
            raise HeadersTooLarge("The request headers are too large.")
        length = found.content_length
        if length is not None:
            if not length.isdigit():
                raise ProblemError("Content-Length is not a number.")
            if int(length) > self.max_body_bytes:
                raise self._too_large()

    def check_body_size(self, received: int) -> None:
        if received > self.max_body_bytes:
            raise self._too_large()

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"The request body is larger than {self.max_body_bytes} bytes.")
