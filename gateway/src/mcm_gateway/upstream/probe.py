"""Asking an upstream whether it is ready, over the same pooled connections the proxy uses."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from mcm_gateway.upstream.errors import UpstreamBroken, UpstreamError
from mcm_gateway.upstream.pool import UpstreamPool

READY_PATH = b"/api/v1/health/ready"


@dataclass(slots=True)
class ProbeResult:
    name: str
    ok: bool
    latency_ms: float
    status: int | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": "ok" if self.ok else "down", "latency_ms": round(self.latency_ms, 2)}
        if self.status is not None:
            body["http_status"] = self.status
        if self.error:
            body["error"] = self.error
        return body


async def get(pool: UpstreamPool, path: bytes, timeout: float, max_bytes: int = 4 * 1024 * 1024) -> tuple[int, bytes]:  # noqa: ASYNC109  # per-read deadline
    """A small GET to an upstream over the pooled connections: (status, body).

    Raises TimeoutError or `UpstreamError`.
    """
    async with asyncio.timeout(timeout):
        conn = await pool.acquire()
        head = b"GET " + path + b" HTTP/1.1\r\nhost: " + pool.host_header + b"\r\naccept: application/json\r\n\r\n"
        exchange = conn.begin(head)
        exchange.finish_request()
        body: list[bytes] = []
        size = 0
        try:
            await exchange.wait_head(timeout)
            more = True
            while more:  # read it all, so the connection can go back to the pool
                data, more = exchange.take_body()
                size += len(data)
                if size > max_bytes:
                    raise UpstreamBroken(f"the {pool.name} service answered more than {max_bytes} bytes")
                body.append(data)
                if more:
                    await exchange.wait_body(timeout)
        except BaseException:
            exchange.abort()
            raise
        return exchange.status, b"".join(body)


async def probe_ready(pool: UpstreamPool, timeout: float) -> ProbeResult:  # noqa: ASYNC109  # passed on to get()
    started = time.perf_counter()
    status = None
    try:
        status, _ = await get(pool, READY_PATH, timeout)
    except TimeoutError:
        return ProbeResult(pool.name, False, _ms(started), error=f"timed out after {timeout}s")
    except UpstreamError as exc:
        return ProbeResult(pool.name, False, _ms(started), error=exc.detail)
    ok = status == 200
    return ProbeResult(pool.name, ok, _ms(started), status=status, error=None if ok else "not ready")


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
