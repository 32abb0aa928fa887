"""Password hashing: bcrypt over an HMAC-SHA256 pre-hash, off the event loop and bounded.

bcrypt only reads the first 72 bytes of its input, so two long passwords sharing a prefix
would hash alike. The pre-hash (keyed with the pepper, base64 so it holds no NUL byte) turns
any password into 44 bytes first, so every byte counts.

One hash is the costliest thing auth does (a quarter to half a second of one core at cost 12),
so hashing is bounded. At most `concurrency` hashes run at once, on a small thread pool of
their own (so they never take the threads other `to_thread` work needs, such as sending mail);
the others wait for a slot in arrival order. bcrypt is pure CPU: more hashes at once than cores
add no throughput, only latency, and they starve the event loop that answers everything else
(health probes, refreshes, JWKS). The default leaves the loop one core: usable cores - 1, at
least 1. A caller that would wait longer than `queue_timeout` for a slot gets `HashingBusy`
(503 with Retry-After): the queue is longer than a client should wait.

Callers must not hold a database transaction while they await `hash` or `verify`: a pooled
connection kept through a hash (and through the wait for a slot) is what drains the pool under
a burst of sign-ins. See docs/auth.md, "Transaction rule".
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import math
import os
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import bcrypt

from mcm_shared.errors import DependencyUnavailable

T = TypeVar("T")

THREAD_NAME_PREFIX = "password-hash"


class HashingBusy(DependencyUnavailable):
    type_slug, title = "hashing-busy", "Too many password checks at once"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "Too many sign-ins are waiting for a password check; try again shortly.",
            headers={"Retry-After": str(retry_after)},
        )


def _cgroup_cpu_limit() -> float | None:
    """A container's CPU limit (cgroup v2 `cpu.max`, or v1 CFS quota), in cores; None if unlimited."""
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota_us = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read_text())
        period_us = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota_us / period_us if quota_us > 0 and period_us > 0 else None


def usable_cores() -> int:
    """Cores this process may run on: its CPU affinity, capped by a container's CPU limit (a pod
    limited to 1 CPU on a 16-core node must not start 15 hashes at once)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    limit = _cgroup_cpu_limit()
    if limit is not None:
        cores = min(cores, max(1, math.ceil(limit)))
    return max(1, cores)


def default_concurrency() -> int:
    """PASSWORD_HASH_CONCURRENCY when unset: every usable core but one, which the event loop keeps."""
    return max(1, usable_cores() - 1)


class PasswordHasher:
    """One per process (the app's context): the bound only holds if every hash goes through it."""

    def __init__(
        self, pepper: str, rounds: int, *, concurrency: int | None = None, queue_timeout: float = 10.0
    ) -> None:
        self._pepper = pepper.encode()
        self._rounds = rounds
        self.concurrency = concurrency or default_concurrency()
        self.queue_timeout = queue_timeout
        self._slots = asyncio.Semaphore(self.concurrency)
        self._executor = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix=THREAD_NAME_PREFIX)
        self._waiting = 0
        self._hash_seconds = 0.0  # moving average of one hash, for Retry-After
        # Compared against when an account does not exist, so a miss costs a full check too.
        self._dummy_hash = bcrypt.hashpw(b"dummy-password-for-timing", bcrypt.gensalt(rounds)).decode()

    def close(self) -> None:
        """Stop the hashing threads (the app's shutdown); a hash already running finishes."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    @property
    def waiting(self) -> int:
        """Callers queued for a hashing slot right now."""
        return self._waiting

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
        return await self._run(self._hash_sync, password)

    async def verify(self, password: str, hashed: str | None) -> bool:
        """Check a password; with no stored hash, spend the same time (same queue) and say no."""
        if hashed is None:
            await self._run(self._verify_sync, password, self._dummy_hash)
            return False
        return await self._run(self._verify_sync, password, hashed)

    async def _run(self, work: Callable[..., T], *args: object) -> T:
        self._waiting += 1
        try:
            async with asyncio.timeout(self.queue_timeout):
                await self._slots.acquire()
        except TimeoutError:
            raise HashingBusy(self._retry_after()) from None
        finally:
            self._waiting -= 1
        try:
            job = self._executor.submit(self._timed, work, *args)
        except BaseException:
            self._slots.release()
            raise
        # The slot comes back when the thread is done, not when the caller stops waiting: a
        # client that disconnects mid-hash must not let one more hash start beside its own.
        job.add_done_callback(self._releaser(asyncio.get_running_loop()))
        return await asyncio.wrap_future(job)

    def _releaser(self, loop: asyncio.AbstractEventLoop) -> Callable[[Future[Any]], None]:
        def release(_: Future[Any]) -> None:
            # RuntimeError: the loop is already closed (shutdown): nobody waits any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._slots.release)

        return release

    def _timed(self, work: Callable[..., T], *args: object) -> T:
        started = time.perf_counter()
        try:
            return work(*args)
        finally:
            elapsed = time.perf_counter() - started
            self._hash_seconds = elapsed if not self._hash_seconds else 0.8 * self._hash_seconds + 0.2 * elapsed

    def _retry_after(self) -> int:
        """Seconds until the queue in front of a newcomer has likely drained (1-60)."""
        backlog = (self._waiting + self.concurrency) * self._hash_seconds / self.concurrency
        return min(60, max(1, math.ceil(backlog)))
