"""What headers cross the gateway, in each direction.

Towards a service: identity and internal headers a client could forge are dropped
(`X-User*`, `X-Internal*`, any name with `_`, `X-Real-IP`, `Forwarded`, and `X-Forwarded-*`
unless the peer is a trusted proxy), hop-by-hop headers are dropped, and the gateway adds its own `X-Request-ID`,
`X-Forwarded-For/-Proto/-Host` and `X-Real-IP`. `Authorization` passes unchanged: every service
verifies the token itself. Back to the client: hop-by-hop headers and the upstream's own
`Date`/`Server`/`X-Request-ID` are dropped (the gateway's server sets them once).
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
    b"transfer-encoding": "chunked",
    b"host": "host",
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
    b"upgrade": "drop",
    b"expect": "drop",  # the gateway's server answers 100-continue itself
    b"forwarded": "drop",
    b"x-real-ip": "drop",
}
# Prefixes without the dash, so `X-User`, `X-Username`, `X-Internal` go too: identity-looking
# names have no business coming from a client.
_DROPPED_PREFIXES = (b"x-user", b"x-internal", b"x-forwarded-")

RESPONSE_DROPPED = frozenset(
    {
        b"connection", b"keep-alive", b"proxy-connection", b"proxy-authenticate", b"te", b"trailer",
        b"transfer-encoding", b"upgrade", b"date", b"server", b"x-request-id",
    }
)


@dataclass(slots=True)
class RequestHeaders:
    """The client's headers, split into what the proxy needs and what it forwards as is."""

    forward: list[bytes]  # name, b": ", value, b"\r\n" pieces, ready to join
    authorization: bytes | None = None
    request_id: bytes | None = None
    content_length: bytes | None = None
    chunked: bool = False
    host: bytes | None = None
    xff: bytes | None = None
    xfp: bytes | None = None
    xfh: bytes | None = None
    size: int = 0


def split_request_headers(headers: Sequence[tuple[bytes, bytes]]) -> RequestHeaders:
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
            forward += (name, b": ", value, b"\r\n")
        elif kind == "request_id":
            found.request_id = value
        elif kind == "content_length":
            found.content_length = value
        elif kind == "chunked":
            found.chunked = True
        elif kind == "host":
            found.host = value
        elif kind == "connection":
            connection_tokens = {token.strip().lower() for token in value.split(b",")}
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
