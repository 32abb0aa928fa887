"""Upstream HTTP client cost: the gateway's own client vs aiohttp, CPU per request.

    python tests/perf/upstream_client_bench.py [--requests 20000] [--concurrency 32]

Starts a bare uvicorn JSON app, then sends the same GETs with each client from one process on
uvloop and reports the client process's CPU time per request (what the gateway pays per
proxied request for its upstream call) and the wall-clock rate. Writes bench-results/upstream_client.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

import aiohttp
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gateway_bench import HERE, ROOT, Processes, free_port, machine, wait_http

from mcm_gateway.upstream import UpstreamPool


async def own_client(url: str, total: int, concurrency: int) -> None:
    pool = UpstreamPool("bench", url, max_connections=concurrency * 2)
    head = b"GET /api/v1/circles HTTP/1.1\r\nhost: " + pool.host_header + b"\r\naccept: application/json\r\n\r\n"
    remaining = total

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            conn = await pool.acquire()
            exchange = conn.begin(head)
            exchange.finish_request()
            await exchange.wait_head(5)
            body, more = exchange.take_body()
            while more:
                await exchange.wait_body(5)
                chunk, more = exchange.take_body()
                body += chunk

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    await pool.close()


async def aiohttp_client(url: str, total: int, concurrency: int) -> None:
    connector = aiohttp.TCPConnector(
        limit=concurrency * 2, keepalive_timeout=30, enable_cleanup_closed=False, use_dns_cache=True
    )
    remaining = total
    async with aiohttp.ClientSession(
        connector=connector, auto_decompress=False, skip_auto_headers=("User-Agent",)
    ) as session:

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                async with session.get(url + "/api/v1/circles") as response:
                    await response.read()

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def measure(name: str, client, url: str, total: int, concurrency: int) -> dict:
    uvloop.run(client(url, min(2000, total), concurrency))  # warm-up
    cpu, wall = time.process_time(), time.perf_counter()
    uvloop.run(client(url, total, concurrency))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {
        "client": name,
        "cpu_us_per_request": round(cpu * 1e6 / total, 1),
        "requests_per_second": round(total / wall, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--output", default=str(ROOT / "bench-results" / "upstream_client.json"))
    args = parser.parse_args()
    procs = Processes()
    port = free_port()
    try:
        procs.start(
            "upstream",
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench_upstream:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--loop",
                "uvloop",
                "--http",
                "httptools",
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            {"PYTHONPATH": str(HERE), "BENCH_UPSTREAM_KIND": "asgi"},
        )
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/api/v1/health/ready")
        results = []
        for _ in range(2):  # alternate, to spread the machine's other load over both
            results.append(measure("own (mcm_gateway.upstream)", own_client, url, args.requests, args.concurrency))
            results.append(measure("aiohttp ClientSession", aiohttp_client, url, args.requests, args.concurrency))
    finally:
        procs.stop_all()
    best: dict[str, dict] = {}
    for result in results:
        if result["client"] not in best or result["cpu_us_per_request"] < best[result["client"]]["cpu_us_per_request"]:
            best[result["client"]] = result
    print(
        f"upstream client cost — {os.cpu_count()} CPUs, load avg {os.getloadavg()[0]:.2f}, {args.concurrency} "
        "concurrent, best of 2"
    )
    for result in best.values():
        print(
            f"  {result['client']:28} {result['cpu_us_per_request']:>7.1f} µs CPU/request  "
            f"{result['requests_per_second']:>9.0f} req/s"
        )
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(
        json.dumps(
            {"machine": machine(), "settings": vars(args), "runs": results, "best": list(best.values())}, indent=2
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
