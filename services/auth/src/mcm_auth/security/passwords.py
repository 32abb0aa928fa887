"""Password hashing: bcrypt over an HMAC-SHA256 pre-hash, run off the event loop.

bcrypt only reads the first 72 bytes of its input, so two long passwords sharing a prefix
would hash alike. The pre-hash (keyed with the pepper, base64 so it holds no NUL byte) turns
any password into 44 bytes first, so every byte counts.
"""
from __future__ import annotations

import base64
import hashlib
import hmac

import anyio.to_thread
import bcrypt


class PasswordHasher:
    def __init__(self, pepper: str, rounds: int) -> None:
        self._pepper = pepper.encode()
        self._rounds = rounds
        # Compared against when an account does not exist, so a miss costs a full check too.
        self._dummy_hash = bcrypt.hashpw(b"dummy-password-for-timing", bcrypt.gensalt(rounds)).decode()

    def _prehash(self, password: str) -> bytes:
        digest = hmac.new(self._pepper, password.encode("utf-8"), hashlib.sha256).digest()
        return base64.b64encode(digest)

    def _hash_sync(self, password: str) -> str:
        return bcrypt.hashpw(self._prehash(password), bcrypt.gensalt(self._rounds)).decode()

    def _verify_sync(self, password: str, hashed: str) -> bool:
        try:
            return bcrypt.checkpw(self._prehash(password), hashed.encode())
        except ValueError:  # a malformed stored hash is a failed check, not a crash
            return False

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self._hash_sync, password)

    async def verify(self, password: str, hashed: str | None) -> bool:
        """Check a password; with no stored hash, spend the same time and say no."""
        if hashed is None:
            await anyio.to_thread.run_sync(self._verify_sync, password, self._dummy_hash)
            return False
        return await anyio.to_thread.run_sync(self._verify_sync, password, hashed)
