"""What headers cross the gateway, in each direction.

Towards a service: identity and internal headers a client could forge are dropped
(`X-User*`, `X-Internal*`, any name with `_`, `X-Real-IP`, `Forwarded`, and `X-Forwarded-*`
unless the peer is a trusted proxy), hop-by-hop headers are dropped, and the gateway adds its own `X-Request-ID`,
`X-Forwarded-For/-Proto/-Host` and `X-Real-IP`. `Authorization` passes unchanged: every service
verifies the token itself. Client framing (`Content-Length`, `Transfer-Encoding`, `Trailer`,
`TE`, `Upgrade`, `Connection`, `Expect`, ...) is never forwarded: the proxy frames each upstream
request itself over the body it read. Back to the client: hop-by-hop headers and the upstream's
own `Date`/`Server`/`X-Request-ID` are dropped (uvicorn sets `Date`, the proxy the request id).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from mcm_shared.client_address import TrustedProxies

# Request headers handled one by one in `split_request_headers`.
_SPECIAL = {
    b"authorization": "authorization",
    b"x-request-id": "request_id",
    b"content-length": "content_length",
    b"transfer-encoding": "transfer_encoding",
    b"host": "host",
    b"upgrade": "upgrade",
    b"connection": "connection",
    b"x-forwarded-for": "xff",
    b"x-forwarded-proto": "xfp",
    b"x-forwarded-host": "xfh",
    # Dropped: hop-by-hop (RFC 9110 §7.6.1) or forgeable client identity.
    b"keep-alive": "drop",
    b"proxy-connection": "drop",
    b"proxy-authorization": "drop",
    b"te": "drop",
    b"trailer": "drop",
    b"http2-settings": "drop",
    b"expect": "drop",  # uvicorn answers 100-continue itself, when the proxy starts reading
    b"forwarded": "drop",
    b"x-real-ip": "drop",
}
# Prefixes without the dash, so `X-User`, `X-Username`, `X-Internal` go too: identity-looking
# names have no business coming from a client.
_DROPPED_PREFIXES = (b"x-user", b"x-internal", b"x-forwarded-")

RESPONSE_DROPPED = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"proxy-authenticate",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"date",
        b"server",
        b"x-request-id",
    }
)


@dataclass(slots=True)
class RequestHeaders:
    """The client's headers, split into what the proxy needs and what it forwards as is."""

    forward: list[bytes]  # name, b": ", value, b"\r\n" pieces, ready to join
    authorization: bytes | None = None
    authorizations: int = 0  # more than one is refused: services must read the one we checked
    request_id: bytes | None = None
    content_length: bytes | None = None
    transfer_encoding: bytes | None = None  # every Transfer-Encoding value, joined with ", "
    host: bytes | None = None
    hosts: int = 0
    upgrade: bool = False  # an Upgrade header, or "upgrade" among the Connection tokens
    xff: bytes | None = None
    xfp: bytes | None = None
    xfh: bytes | None = None
    size: int = 0


def has_upgrade(headers: Sequence[tuple[bytes, bytes]]) -> bool:
    """An Upgrade header, or an `upgrade` token in Connection (for the gateway's own endpoints)."""
    return any(name == b"upgrade" or (name == b"connection" and b"upgrade" in value.lower()) for name, value in headers)


def split_request_headers(headers: Sequence[tuple[bytes, bytes]], count: int | None = None) -> RequestHeaders:
    """The first `count` entries of `headers` (all by default): those that came before the body."""
    if count is not None and count != len(headers):
        headers = headers[:count]
    forward: list[bytes] = []
    found = RequestHeaders(forward)
    size = 0
    connection_tokens: set[bytes] | None = None
    special = _SPECIAL
    for name, value in headers:
        size += len(name) + len(value)
        kind = special.get(name)
        if kind is None:
            # Names with "_" are dropped like nginx does by default: stacks that map "_" to "-"
            # (CGI/WSGI) would read `X-User_Id` as `X-User-Id`.
            if b"_" not in name and not name.startswith(_DROPPED_PREFIXES):
                forward += (name, b": ", value, b"\r\n")
        elif kind == "authorization":
            found.authorization = value
            found.authorizations += 1
            forward += (name, b": ", value, b"\r\n")
        elif kind == "request_id":
            found.request_id = value
        elif kind == "content_length":
            found.content_length = value
        elif kind == "transfer_encoding":
            found.transfer_encoding = (
                value if found.transfer_encoding is None else found.transfer_encoding + b", " + value
            )
        elif kind == "host":
            found.host = value
            found.hosts += 1
        elif kind == "upgrade":
            found.upgrade = True
        elif kind == "connection":
            tokens = {token.strip().lower() for token in value.split(b",")}
            connection_tokens = tokens if connection_tokens is None else connection_tokens | tokens
            if b"upgrade" in tokens:
                found.upgrade = True
        elif kind == "xff":
            found.xff = value if found.xff is None else found.xff + b", " + value
        elif kind == "xfp":
            found.xfp = value
        elif kind == "xfh":
            found.xfh = value
    found.size = size
    if connection_tokens:
        # Headers the client declared hop-by-hop in `Connection` stop here too.
        pieces = forward
        found.forward = [
            piece
            for index in range(0, len(pieces), 4)
            if pieces[index] not in connection_tokens or pieces[index] == b"authorization"
            for piece in pieces[index : index + 4]
        ]
    return found


class ClientAddresses:
    """Who the client is, believing `X-Forwarded-For` only from configured proxies.

    The rule itself is the platform's one (`mcm_shared.client_address`), so the gateway and auth
    always agree on who a client is.
    """

    def __init__(self, trusted: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network] = ()) -> None:
        self.trusted = tuple(trusted)
        self._proxies = TrustedProxies(self.trusted)

    def is_trusted(self, address: str) -> bool:
        return self._proxies.is_trusted(address)

    def resolve(self, peer: str, xff: bytes | None) -> tuple[str, bytes, bool]:
        """(client ip, X-Forwarded-For to send on, whether the peer is a trusted proxy)."""
        peer_bytes = peer.encode("latin-1")
        trusted = self.is_trusted(peer)
        if xff is None or not trusted:
            return peer, peer_bytes, trusted
        return self._proxies.client(peer, xff.decode("latin-1")), xff + b", " + peer_bytes, True
