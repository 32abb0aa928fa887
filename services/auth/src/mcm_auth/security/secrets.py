"""Opaque secrets handed to clients (refresh tokens, reset tokens, codes), stored only hashed.

A SHA-256 of a 256-bit random value is enough: the input has no structure to guess, so a slow
hash would add nothing but latency.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_code(digits: int = 6) -> str:
    return f"{secrets.randbelow(10**digits):0{digits}d}"


def code_hash(code: str, salt: str) -> str:
    """Codes are short, so they are hashed with a per-row salt (the row id) to defeat tables."""
    return hmac.new(salt.encode(), code.encode(), hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
