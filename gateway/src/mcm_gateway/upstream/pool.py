"""A pool of keep-alive connections to one upstream, with connect timeout, a connection cap
and a circuit breaker. Idle connections are reused last-in first-out, so a quiet period lets
the older ones expire instead of spreading traffic thinly over all of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import deque
from urllib.parse import urlsplit

from mcm_gateway.deadlines import Sweeper
from mcm_gateway.upstream.breaker import CircuitBreaker
from mcm_gateway.upstream.connection import UpstreamConnection
from mcm_gateway.upstream.errors import (
    ConnectFailed,
    UpstreamTimeout,
    UpstreamUnavailable,
)


class UpstreamPool:
    def __init__(
        self,
        name: str,
        url: str,
        *,
        connect_timeout: float = 1.0,
        read_timeout: float = 15.0,
        max_connections: int = 256,
        idle_seconds: float = 4.0,
        breaker: CircuitBreaker | None = None,
        sweeper: Sweeper | None = None,
    ) -> None:
        self.name = name
        self.url = url.rstrip("/")
        self.configured = bool(url)
        parts = urlsplit(url) if url else None
        self.host = (parts.hostname or "127.0.0.1") if parts else ""
        self.tls = bool(parts and parts.scheme == "https")
        self.port = (parts.port or (443 if self.tls else 80)) if parts else 0
        default_port = 443 if self.tls else 80
        # The Host header the upstream sees; the client's own goes in X-Forwarded-Host.
        self.host_header = (self.host if self.port == default_port else f"{self.host}:{self.port}").encode("idna")
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_connections = max_connections
        self.idle_seconds = idle_seconds
        self.breaker = breaker or CircuitBreaker()
        self.sweeper = sweeper  # coarse response timeouts; None → one timer per wait
        # Pools are built inside the running loop (the app's lifespan).
        self.loop = asyncio.get_running_loop()
        self._ssl = ssl.create_default_context() if self.tls else None
        self._idle: list[UpstreamConnection] = []
        self._open = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._closing = False

    def idle_connection(self) -> UpstreamConnection | None:
        """The most recently used idle connection still fresh enough, without awaiting (the
        usual case on the hot path); None when `acquire` has to connect or wait."""
        idle = self._idle
        if not idle:
            return None
        now = self.loop.time()
        while idle:
            conn = idle.pop()
            if conn.closed:
                continue
            if now - conn.idle_since > self.idle_seconds:
                conn.close()
                continue
            conn.reused = True
            return conn
        return None

    async def acquire(self) -> UpstreamConnection:
        if not self.configured:
            raise UpstreamUnavailable(f"the {self.name} service is not configured")
        conn = self.idle_connection()
        if conn is not None:
            return conn
        if self._open >= self.max_connections:
            await self._wait_for_capacity()
            return await self.acquire()
        return await self.connect()

    async def connect(self) -> UpstreamConnection:
        """A new connection, bypassing idle ones (used for a retry after a stale one)."""
        if not self.breaker.allow():
            raise UpstreamUnavailable(f"the {self.name} service is down")
        self._open += 1
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, conn = await self.loop.create_connection(
                    lambda: UpstreamConnection(self), self.host, self.port, ssl=self._ssl
                )
        except TimeoutError:
            self._open -= 1
            self.breaker.record_failure(timed_out=True)
            raise UpstreamTimeout(f"could not connect to the {self.name} service in time") from None
        except OSError as exc:
            self._open -= 1
            was_down = self.breaker.known_down
            self.breaker.record_failure()
            if was_down:
                raise UpstreamUnavailable(f"the {self.name} service is down") from exc
            raise ConnectFailed(f"could not connect to the {self.name} service") from exc
        except BaseException:
            self._open -= 1
            raise
        self.breaker.record_success()
        return conn

    async def _wait_for_capacity(self) -> None:
        waiter = self.loop.create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(self.connect_timeout):
                await waiter
        except TimeoutError:
            raise UpstreamUnavailable(f"the {self.name} service has no free connection") from None
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def release(self, conn: UpstreamConnection) -> None:
        if self._closing:
            conn.close()
            return
        conn.idle_since = self.loop.time()
        self._idle.append(conn)
        if self._waiters:
            self._wake_one()

    def forget(self, conn: UpstreamConnection) -> None:
        """Called once per connection when it closes."""
        self._open -= 1
        with contextlib.suppress(ValueError):  # it was busy, not idle
            self._idle.remove(conn)
        if self._waiters:
            self._wake_one()

    @property
    def open_connections(self) -> int:
        return self._open

    async def close(self) -> None:
        self._closing = True
        for conn in self._idle:
            conn.close()
        self._idle.clear()
        await asyncio.sleep(0)  # let the transports run connection_lost
