"""Load generators: wrk (identical or cycled requests, most efficient) and an asyncio/aiohttp
closed loop (a different request each time: per-user tokens, signed bodies, unique ids).

Both run on the same cores as the platform; the report says so next to every absolute figure.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import resource
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp


# -- statistics ------------------------------------------------------------------------------
def percentile(sorted_values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass
class LoadResult:
    requests: int = 0
    seconds: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)  # transport errors by exception type
    latencies_ms: list[float] = field(default_factory=list)  # sorted after finish()
    p50_ms: float | None = None
    p90_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    client_cpu_seconds: float | None = None
    tool: str = ""

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def ok(self, accepted: Iterable[int] = range(200, 300)) -> int:
        allowed = set(accepted)
        return sum(count for status, count in self.statuses.items() if status in allowed)

    def bad(self, accepted: Iterable[int] = range(200, 300)) -> int:
        return self.requests - self.ok(accepted) + sum(self.errors.values())

    def finish(self) -> LoadResult:
        self.latencies_ms.sort()
        for pct in (50, 90, 95, 99):
            setattr(self, f"p{pct}_ms", percentile(self.latencies_ms, pct))
        self.max_ms = self.latencies_ms[-1] if self.latencies_ms else None
        return self

    def summary(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "rate_per_s": round(self.rate, 1),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "transport_errors": dict(self.errors),
            "p50_ms": _r(self.p50_ms),
            "p90_ms": _r(self.p90_ms),
            "p95_ms": _r(self.p95_ms),
            "p99_ms": _r(self.p99_ms),
            "max_ms": _r(self.max_ms),
            "client_cpu_seconds": _r(self.client_cpu_seconds),
        }


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- asyncio / aiohttp closed loop -------------------------------------------------------------
@dataclass(frozen=True)
class Request:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    tag: Any = None  # returned to on_response (e.g. which user / event this was)


OnResponse = Callable[[Request, int, bytes], None]


def make_session(concurrency: int, timeout: float = 30.0) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(
        limit=concurrency, limit_per_host=concurrency, keepalive_timeout=30, ttl_dns_cache=None
    )
    return aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=timeout), skip_auto_headers=("User-Agent",)
    )


async def closed_loop(
    requests: Iterable[Request],
    *,
    concurrency: int,
    duration: float | None = None,
    on_response: OnResponse | None = None,
    session: aiohttp.ClientSession | None = None,
    timeout: float = 30.0,  # noqa: ASYNC109  # a per-request timeout handed to aiohttp, not a deadline
) -> LoadResult:
    """`concurrency` workers each send the next request as soon as their previous one answered,
    until the requests run out (or `duration` seconds pass). Latency is per request."""
    result = LoadResult(tool="aiohttp closed loop")
    source: Iterator[Request] = iter(requests)
    own = session is None
    client = session or make_session(concurrency, timeout)
    deadline = None if duration is None else time.perf_counter() + duration
    cpu0 = _cpu_seconds()

    async def worker() -> None:
        while deadline is None or time.perf_counter() < deadline:
            request = next(source, None)
            if request is None:
                return
            started = time.perf_counter()
            try:
                async with client.request(
                    request.method, request.url, headers=request.headers, data=request.body
                ) as response:
                    body = await response.read()
                    status = response.status
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                result.errors[type(exc).__name__] += 1
                continue
            result.latencies_ms.append((time.perf_counter() - started) * 1000)
            result.statuses[status] += 1
            result.requests += 1
            if on_response is not None:
                on_response(request, status, body)

    started = time.perf_counter()
    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        result.seconds = time.perf_counter() - started
        result.client_cpu_seconds = _cpu_seconds() - cpu0
        if own:
            await client.close()
    return result.finish()


async def fixed_rate_probe(
    url: str,
    *,
    interval: float,
    stop: asyncio.Event,
    timeout: float = 5.0,  # noqa: ASYNC109  # per request, not a deadline
) -> LoadResult:
    """One request every `interval` seconds on its own connection (open loop: a slow answer does
    not delay the schedule of the next ones beyond the one in flight)."""
    result = LoadResult(tool=f"aiohttp probe every {interval * 1000:.0f} ms")
    async with make_session(1, timeout) as client:
        started = time.perf_counter()
        next_at = started
        while not stop.is_set():
            now = time.perf_counter()
            if now < next_at:
                try:
                    await asyncio.wait_for(stop.wait(), next_at - now)
                    break
                except TimeoutError:
                    pass
            next_at += interval
            sent = time.perf_counter()
            try:
                async with client.get(url) as response:
                    await response.read()
                    result.statuses[response.status] += 1
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                result.errors[type(exc).__name__] += 1
                continue
            result.latencies_ms.append((time.perf_counter() - sent) * 1000)
            result.requests += 1
        result.seconds = time.perf_counter() - started
    return result.finish()


# -- wrk ---------------------------------------------------------------------------------------
def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def _lua_string(text: str) -> str:
    out = ['"']
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif 32 <= code < 127:
            out.append(char)
        else:
            out.extend(f"\\{byte}" for byte in char.encode("utf-8"))
    out.append('"')
    return "".join(out)


_WRK_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"p50":%d,"p90":%d,"p95":%d,"p99":%d,"max":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99), latency.max))
end
"""


def wrk_script(requests: list[tuple[str, str, dict[str, str], str | None]]) -> str:
    """A wrk Lua script cycling through pre-formatted requests (method, path, headers, body);
    each thread starts at a different offset so connections do not move in lockstep."""
    rows = []
    for method, path, headers, body in requests:
        header_table = "{" + ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items()) + "}"
        lua_body = _lua_string(body) if body is not None else "nil"
        rows.append(f"  {{{_lua_string(method)}, {_lua_string(path)}, {header_table}, {lua_body}}},")
    return (
        "local specs = {\n" + "\n".join(rows) + "\n}\n"
        "local formatted = {}\n"
        "local index = 0\n"
        "local thread_no = 0\n"
        "setup = function(thread)\n  thread_no = thread_no + 1\n  thread:set('offset', thread_no * 7919)\nend\n"
        "init = function(args)\n"
        "  for i, s in ipairs(specs) do formatted[i] = wrk.format(s[1], s[2], s[3], s[4]) end\n"
        "  index = (offset or 0) % #formatted\n"
        "end\n"
        "request = function()\n  index = index % #formatted + 1\n  return formatted[index]\nend\n" + _WRK_DONE
    )


def run_wrk(
    base_url: str,
    requests: list[tuple[str, str, dict[str, str], str | None]],
    *,
    connections: int,
    duration: float,
    threads: int = 2,
    work_dir: Path,
    name: str = "wrk",
    timeout_s: int = 10,
) -> LoadResult:
    """wrk against `base_url`, cycling `requests`; latency percentiles from wrk's own histogram."""
    script = work_dir / f"{name}.lua"
    script.write_text(wrk_script(requests))
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        f"--timeout={timeout_s}s",
        "-s",
        str(script),
        base_url,
    ]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60)
    match = re.search(r"^WRKJSON (\{.*\})$", completed.stdout, re.M)
    if completed.returncode != 0 or match is None:
        raise RuntimeError(
            f"wrk failed ({completed.returncode}): {completed.stderr.strip() or completed.stdout.strip()}"
        )
    data = json.loads(match.group(1))
    result = LoadResult(tool=f"wrk -t{threads} -c{connections}")
    result.requests = data["requests"]
    result.seconds = data["duration_us"] / 1e6
    bad_status = data["status"]
    result.statuses[200] = result.requests - bad_status  # wrk counts 2xx/3xx together
    if bad_status:
        result.statuses[0] = bad_status  # "non-2xx/3xx" (wrk does not say which)
    for kind in ("connect", "read", "write", "timeout"):
        if data[kind]:
            result.errors[kind] = data[kind]
    for pct in (50, 90, 95, 99):
        setattr(result, f"p{pct}_ms", data[f"p{pct}"] / 1000)
    result.max_ms = data["max"] / 1000
    return result
