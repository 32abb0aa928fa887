"""The physical limit of "acknowledge after commit" on this machine, measured in the same run:
single-row INSERT transactions per second against the platform's own (durable) PostgreSQL, with
asyncpg straight to the server at the scenario's concurrency.

Every write-heavy scenario measures it right before its load and reports its rate also as a
ratio to it, because absolute write rates swing with the disk (its flush latency) and with what
else the machine is doing, while the ratio says how much of the durable-commit budget the
platform's own path uses (1.0: the platform acknowledges as fast as bare commits go).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

import asyncpg

from benchkit.load import percentile

TABLE = "bench_baseline.insert_probe"


@dataclass
class InsertBaseline:
    concurrency: int
    transactions: int
    seconds: float
    p50_ms: float | None
    p99_ms: float | None

    @property
    def rate(self) -> float:
        return self.transactions / self.seconds if self.seconds > 0 else 0.0

    def describe(self) -> str:
        return (
            f"{self.transactions} single-row INSERT transactions (autocommit, one commit each) in "
            f"{self.seconds:.1f} s on {self.concurrency} asyncpg connections; p50 {self.p50_ms} ms, p99 "
            f"{self.p99_ms} ms"
        )


async def measure(dsn: str, *, concurrency: int, seconds: float) -> InsertBaseline:
    """`concurrency` connections each INSERT one ~300-byte row per transaction, as fast as the
    server acknowledges, for `seconds`."""
    setup = await asyncpg.connect(dsn)
    try:
        await setup.execute("CREATE SCHEMA IF NOT EXISTS bench_baseline")
        await setup.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (id uuid PRIMARY KEY, payload text NOT NULL, "
            "created_at timestamptz NOT NULL DEFAULT now())"
        )
    finally:
        await setup.close()
    connections = await asyncio.gather(*(asyncpg.connect(dsn) for _ in range(concurrency)))
    payload = "x" * 300
    latencies: list[float] = []
    deadline = 0.0

    async def worker(connection: asyncpg.Connection) -> int:
        done = 0
        statement = await connection.prepare(f"INSERT INTO {TABLE} (id, payload) VALUES ($1, $2)")
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await statement.fetch(uuid.uuid4(), payload)
            latencies.append((time.perf_counter() - started) * 1000)
            done += 1
        return done

    try:
        started = time.perf_counter()
        deadline = started + seconds
        counts = await asyncio.gather(*(worker(c) for c in connections))
        elapsed = time.perf_counter() - started
    finally:
        await asyncio.gather(*(c.close() for c in connections), return_exceptions=True)
    latencies.sort()
    return InsertBaseline(
        concurrency, sum(counts), elapsed, _round(percentile(latencies, 50)), _round(percentile(latencies, 99))
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def record(result, baseline: InsertBaseline, rate: float | None, *, what: str) -> None:
    """Figures: the baseline's rate, and the scenario's `rate` as a ratio to it."""
    from benchkit.report import ABSOLUTE, RATIO

    result.details["durable_insert_baseline"] = {
        "rate": round(baseline.rate, 1),
        "transactions": baseline.transactions,
        "seconds": round(baseline.seconds, 2),
        "concurrency": baseline.concurrency,
        "p50_ms": baseline.p50_ms,
        "p99_ms": baseline.p99_ms,
    }
    result.add(
        "baseline_rate",
        f"Baseline: single-row durable INSERT transactions per second ({baseline.concurrency} connections)",
        round(baseline.rate, 1),
        "tx/s",
        ABSOLUTE,
        note=baseline.describe(),
    )
    result.add(
        "rate_vs_baseline",
        f"{what} per second ÷ baseline durable INSERT transactions per second",
        round(rate / baseline.rate, 3) if rate and baseline.rate else None,
        "×",
        RATIO,
        note="1.0 = acknowledged as fast as bare single-row commits at the same concurrency",
    )
