"""Strict verification of the ES256 access tokens auth issues (ARCHITECTURE.md §4).

This runs on every request, so the compact token is parsed once, by hand, instead of through
`jwt.decode` (whose strict base64 checks walk every byte in Python and which would need the
header parsed a second time to pick the key by `kid`): the header is read to find the key, the
signature is checked with that cached `PyJWK`'s own algorithm object, and only then is the
payload decoded and its claims checked. Only ES256 is accepted; the algorithm is pinned by the
verifier and the key, never chosen by the token.

Every failure is the same `Unauthenticated` with a generic detail so a caller learns nothing
about which check failed; the reason goes to the debug log.
"""

from __future__ import annotations

import binascii
import json
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeGuard
from uuid import UUID

import jwt

from mcm_shared.errors import DependencyUnavailable, Unauthenticated
from mcm_shared.security.jwks import ALGORITHM, JWKSCache
from mcm_shared.security.principal import SERVICE_SUBJECT_PREFIX, Principal

logger = logging.getLogger("mcm.security.tokens")

INVALID_TOKEN_DETAIL = "The access token is invalid or has expired."  # noqa: S105  # a message, not a secret
# RFC 6750 §3.1: a presented but unusable token is answered with error="invalid_token".
_INVALID_TOKEN_HEADERS = {"WWW-Authenticate": 'Bearer error="invalid_token"'}

_MAX_TOKEN_LENGTH = 8192
_MAX_KID_LENGTH = 256
_MAX_JTI_LENGTH = 256
# An ES256 signature is r||s, 64 bytes: 86 base64url characters whose last one carries four
# unused bits that must be zero, so only A, Q, g and w can end a canonical encoding.
_ES256_SIGNATURE_CHARS = 86
_CANONICAL_LAST_SIGNATURE_CHAR = frozenset(b"AQgw")
# base64url → standard alphabet; '+', '/' and '=' become '!' so strict decoding refuses them.
_FROM_B64URL = bytes.maketrans(b"-_+/=", b"+/!!!")
_PADDING = (b"", b"", b"==", b"=")
_MAX_TIME = 1 << 40  # far beyond any real expiry, well inside float precision
_NO_ROLES: frozenset[str] = frozenset()
_SERVICE_NAME = re.compile(r"[a-z][a-z0-9-]{0,62}")


class KeyNotCached(Unauthenticated):
    """The token's `kid` is not among the keys already cached (fast path only).

    Callers of `verify_with_known_keys` fall back to `await verify(token)`, which may refetch.
    It is an `Unauthenticated`, so if nobody catches it the client still gets a clean 401.
    """

    def __init__(self, kid: str) -> None:
        super().__init__(INVALID_TOKEN_DETAIL, headers=dict(_INVALID_TOKEN_HEADERS))
        self.kid = kid


def _invalid(reason: str) -> Unauthenticated:
    logger.debug("token rejected", extra={"reason": reason})
    return Unauthenticated(INVALID_TOKEN_DETAIL, headers=dict(_INVALID_TOKEN_HEADERS))


def _b64url_decode(segment: bytes) -> bytes:
    remainder = len(segment) % 4
    if remainder == 1:
        raise binascii.Error("impossible base64url length")
    return binascii.a2b_base64(segment.translate(_FROM_B64URL) + _PADDING[remainder], strict_mode=True)


def _is_time(value: Any) -> TypeGuard[int | float]:
    """A NumericDate: a non-negative int or finite float (never a bool, NaN or Infinity)."""
    if type(value) is int:
        return 0 <= value < _MAX_TIME
    return type(value) is float and 0 <= value < _MAX_TIME  # NaN fails every comparison


def _uuid(value: Any) -> UUID | None:
    """A canonical (lower-case, hyphenated) UUID string, else None."""
    if type(value) is not str or len(value) != 36:
        return None
    try:
        parsed = UUID(value)
    except ValueError:
        return None
    return parsed if str(parsed) == value else None


class _Parsed:
    __slots__ = ("kid", "payload_segment", "signature", "signing_input")

    def __init__(self, kid: str, signing_input: bytes, payload_segment: bytes, signature: bytes) -> None:
        self.kid = kid
        self.signing_input = signing_input
        self.payload_segment = payload_segment
        self.signature = signature


class TokenVerifier:
    """Verifies access tokens against auth's keys and turns them into a `Principal`."""

    def __init__(
        self,
        keys: JWKSCache,
        *,
        issuer: str,
        audience: str | list[str],
        leeway: float = 10,
        token_type: str = "access",  # noqa: S107  # the `typ` claim, not a secret
        is_revoked: Callable[[Principal], bool] | None = None,
        cache_size: int = 10_000,
    ) -> None:
        audiences = frozenset([audience] if isinstance(audience, str) else audience)
        if not issuer or not audiences or not all(isinstance(a, str) and a for a in audiences):
            raise ValueError("TokenVerifier needs an issuer and at least one audience")
        self.keys = keys
        self.issuer = issuer
        self.audiences = audiences
        self.leeway = float(leeway)
        self.token_type = token_type
        # Synchronous and cheap by contract (e.g. a set of revoked session ids kept in memory).
        self.is_revoked = is_revoked
        # A client sends the same token on every request for its lifetime, and the signature
        # check is most of the cost of verifying it: tokens already verified are remembered
        # (bounded LRU) until they expire, while the key that signed them is still published;
        # revocation is still consulted on every use.
        self.cache_size = cache_size
        self._verified: OrderedDict[str, tuple[Principal, str, jwt.PyJWK]] = OrderedDict()

    async def verify(self, token: str) -> Principal:
        """The principal of a valid token; `Unauthenticated` otherwise.

        Raises `DependencyUnavailable` (503) instead when the token's key is unknown and auth's
        key set cannot be fetched right now: the token may well be good.
        """
        remembered = self._remembered(token)
        if remembered is not None:
            return remembered
        parsed = self._parse(token)
        key = self.keys.cached_key(parsed.kid)
        if key is None:
            key = await self.keys.key_for(parsed.kid)
            if key is None:
                if self.keys.last_fetch_failed:
                    logger.warning(
                        "token key unknown and the key set cannot be fetched", extra={"kid": parsed.kid[:64]}
                    )
                    raise DependencyUnavailable("Sign-in cannot be checked right now; please retry shortly.")
                raise _invalid("unknown kid")
        return self._remember(token, parsed.kid, key, self._check(parsed, key))

    def verify_with_known_keys(self, token: str) -> Principal:
        """Like `verify` but only with keys already cached; `KeyNotCached` when the kid is new."""
        remembered = self._remembered(token)
        if remembered is not None:
            return remembered
        parsed = self._parse(token)
        key = self.keys.cached_key(parsed.kid)
        if key is None:
            raise KeyNotCached(parsed.kid)
        return self._remember(token, parsed.kid, key, self._check(parsed, key))

    def _remembered(self, token: str) -> Principal | None:
        entry = self._verified.get(token) if type(token) is str else None
        if entry is None:
            return None
        principal, kid, key = entry
        # The same expiry rule as for an unseen token; a retired or replaced key ends it too.
        if principal.expires_at + self.leeway <= time.time() or self.keys.cached_key(kid) is not key:
            del self._verified[token]
            return None
        if self.is_revoked is not None and self.is_revoked(principal):
            del self._verified[token]
            raise _invalid("revoked")
        self._verified.move_to_end(token)
        return principal

    def _remember(self, token: str, kid: str, key: jwt.PyJWK, principal: Principal) -> Principal:
        if self.cache_size > 0:
            self._verified[token] = (principal, kid, key)
            if len(self._verified) > self.cache_size:
                self._verified.popitem(last=False)
        return principal

    async def aclose(self) -> None:
        await self.keys.aclose()

    def _parse(self, token: str) -> _Parsed:
        """Split the compact JWS and read its header; nothing here is trusted yet."""
        if type(token) is not str or not token or len(token) > _MAX_TOKEN_LENGTH:
            raise _invalid("not a token")
        try:
            raw = token.encode("ascii")
        except UnicodeEncodeError:
            raise _invalid("non-ascii token") from None
        signing_input, _, signature_segment = raw.rpartition(b".")
        header_segment, dot, payload_segment = signing_input.partition(b".")
        if not dot or b"." in payload_segment:
            raise _invalid("not three segments")
        try:
            header = json.loads(_b64url_decode(header_segment))
        except (ValueError, binascii.Error):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            raise _invalid("malformed header") from None
        if type(header) is not dict:
            raise _invalid("header is not an object")
        if header.get("alg") != ALGORITHM:
            raise _invalid("algorithm not allowed")
        if "crit" in header:  # no critical extension is understood, so none may be required
            raise _invalid("critical header extension")
        kid = header.get("kid")
        if type(kid) is not str or not kid or len(kid) > _MAX_KID_LENGTH:
            raise _invalid("missing kid")
        if (
            len(signature_segment) != _ES256_SIGNATURE_CHARS
            or signature_segment[-1] not in _CANONICAL_LAST_SIGNATURE_CHAR
        ):
            raise _invalid("malformed signature")
        try:
            signature = _b64url_decode(signature_segment)
        except binascii.Error:
            raise _invalid("malformed signature") from None
        return _Parsed(kid, signing_input, payload_segment, signature)

    def _check(self, parsed: _Parsed, key: jwt.PyJWK) -> Principal:
        # The key was built for ES256 only (see jwks.py); its Algorithm verifies raw r||s.
        if not key.Algorithm.verify(parsed.signing_input, key.key, parsed.signature):
            raise _invalid("bad signature")
        try:
            claims = json.loads(_b64url_decode(parsed.payload_segment))
        except (ValueError, binascii.Error):
            raise _invalid("malformed payload") from None
        if type(claims) is not dict:
            raise _invalid("payload is not an object")
        principal = self._principal(claims)
        if self.is_revoked is not None and self.is_revoked(principal):
            raise _invalid("revoked")
        return principal

    def _principal(self, claims: dict[str, Any]) -> Principal:
        if claims.get("typ") != self.token_type:
            raise _invalid("wrong typ")
        if claims.get("iss") != self.issuer:
            raise _invalid("wrong iss")
        self._check_audience(claims.get("aud"))

        now = time.time()
        exp, iat, nbf = claims.get("exp"), claims.get("iat"), claims.get("nbf")
        if not _is_time(exp) or not _is_time(iat) or (nbf is not None and not _is_time(nbf)):
            raise _invalid("missing or malformed time claim")
        if exp + self.leeway <= now:
            raise _invalid("expired")
        if iat - self.leeway > now or (nbf is not None and nbf - self.leeway > now):
            raise _invalid("not valid yet")

        jti = claims.get("jti")
        if type(jti) is not str or not jti or len(jti) > _MAX_JTI_LENGTH:
            raise _invalid("missing jti")

        subject = claims.get("sub")
        if type(subject) is not str:
            raise _invalid("missing sub")
        sid = claims.get("sid")
        if subject.startswith(SERVICE_SUBJECT_PREFIX):
            if not _SERVICE_NAME.fullmatch(subject, len(SERVICE_SUBJECT_PREFIX)):
                raise _invalid("malformed service subject")
            user_id = None
            session_id = None if sid is None else _uuid(sid)
            if sid is not None and session_id is None:
                raise _invalid("malformed sid")
        else:
            user_id = _uuid(subject)
            session_id = _uuid(sid)
            if user_id is None or session_id is None:  # user tokens always belong to a session
                raise _invalid("malformed sub or sid")

        roles = claims.get("roles")
        if roles is None:
            role_set = _NO_ROLES
        elif type(roles) is list and all(type(role) is str for role in roles):
            role_set = frozenset(roles)
        else:
            raise _invalid("malformed roles")

        return Principal(
            subject=subject,
            user_id=user_id,
            roles=role_set,
            session_id=session_id,
            token_id=jti,
            expires_at=int(exp),
        )

    def _check_audience(self, aud: Any) -> None:
        if type(aud) is str and aud in self.audiences:
            return
        if type(aud) is list and aud and all(type(a) is str for a in aud) and not self.audiences.isdisjoint(aud):
            return
        raise _invalid("wrong aud")
