"""Cold start (spawn → first /api/v1/health/ready 200, per service) and idle memory per process."""

from __future__ import annotations

import time

from benchkit.context import BenchContext
from benchkit.report import ABSOLUTE, ScenarioResult
from mcm_devstack.platform import SERVICES

TITLE = "Cold start and idle memory"
METHOD = (
    "Each service is spawned alone (`python -m mcm_<service> serve`, as `make run` does), in the order auth, circles, "
    "payments, gateway, after migrations; the clock runs from `Popen` to the first 200 of `GET /api/v1/health/ready` "
    "(polled every 10 ms). Idle memory is VmRSS from /proc/<pid>/status after 3 s without traffic and before any "
    "data is seeded; PostgreSQL is given as the postmaster's RSS and as the sum of PSS over all its processes "
    "(shared buffers counted once)."
)


def run(ctx: BenchContext, result: ScenarioResult) -> None:
    result.method = METHOD
    stack = ctx.stack
    for name, seconds in stack.timings.items():
        result.details[name] = round(seconds, 3)
    result.details["migration_errors"] = stack.migration_errors
    total = 0.0
    for spec in SERVICES:
        start = stack.starts.get(spec.name)
        if start is None:
            continue
        if start.ready and start.seconds_to_ready is not None:
            total += start.seconds_to_ready
            result.add(
                f"cold_start.{spec.name}",
                f"Cold start to ready: {spec.name}",
                round(start.seconds_to_ready, 2),
                "s",
                ABSOLUTE,
            )
        else:
            result.add(
                f"cold_start.{spec.name}",
                f"Cold start to ready: {spec.name}",
                None,
                "s",
                ABSOLUTE,
                note=f"not ready: {start.error}",
            )
    result.add("cold_start.sum", "Cold start, all ready services one after another", round(total, 2), "s", ABSOLUTE)
    time.sleep(3.0)
    memory = stack.memory()
    result.details["idle_memory"] = memory
    record_memory(result, memory, prefix="idle_rss", label="Idle memory")


def record_memory(result: ScenarioResult, memory: dict, *, prefix: str, label: str) -> None:
    for name in ("auth", "circles", "payments", "gateway", "redis"):
        if name in memory:
            result.add(f"{prefix}.{name}", f"{label} (VmRSS): {name}", memory[name]["rss_mib"], "MiB", ABSOLUTE)
    if "postgresql" in memory:
        pg = memory["postgresql"]
        result.add(
            f"{prefix}.postgresql",
            f"{label}: PostgreSQL, {pg['processes']} processes (sum of PSS)",
            pg["pss_total_mib"],
            "MiB",
            ABSOLUTE,
            note=f"postmaster VmRSS {pg['rss_mib']} MiB",
        )
