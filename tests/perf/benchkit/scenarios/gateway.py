"""(a) Gateway vs direct for an authenticated GET, with nginx as the reference proxy.

Reuses the gateway engineer's benchmark (tests/perf/gateway_bench.py): its `run_wrk` for every
wrk run here, and its `bench_one` + `summarise` for the isolated comparison against a synthetic
upstream (its own targets). This module adds the same comparison on the real platform: the
seeded circles service, the real gateway with Redis (revocation, rate limits), and nginx.
"""

from __future__ import annotations

import argparse
import inspect
import statistics
import subprocess

import httpx

from benchkit import machine, nginx
from benchkit.context import BenchContext
from benchkit.load import wrk_available
from benchkit.report import ABSOLUTE, BUSY_MACHINE_PCT, COUNT, RATIO, NotAvailable, ScenarioResult, Target

TITLE = "(a) Gateway vs direct: authenticated GET"
CONNECTIONS = 32


def _gateway_bench():
    try:
        import gateway_bench  # tests/perf/gateway_bench.py, the gateway engineer's benchmark
    except ImportError as exc:
        raise NotAvailable(f"tests/perf/gateway_bench.py cannot be imported: {exc}") from None
    for name in ("run_wrk", "bench_one", "summarise", "make_token"):
        if not hasattr(gateway_bench, name):
            raise NotAvailable(
                f"tests/perf/gateway_bench.py has no {name}() any more; adapt benchkit/scenarios/gateway.py"
            )
    return gateway_bench


def _wrk(gb, url: str, token: str, duration: int, watch: dict[str, int] | None = None) -> dict:
    kwargs = {"watch": watch} if watch and "watch" in inspect.signature(gb.run_wrk).parameters else {}
    try:
        return gb.run_wrk(url, token, connections=CONNECTIONS, threads=2, duration=duration, **kwargs)
    except (subprocess.CalledProcessError, AttributeError) as exc:
        raise RuntimeError(f"wrk against {url} failed: {exc}") from exc


def run(ctx: BenchContext, result: ScenarioResult) -> None:
    if not wrk_available():
        raise NotAvailable("wrk is not installed (apt-get install -y wrk)")
    gb = _gateway_bench()
    ctx.require_ready("gateway", "circles")
    token = ctx.require_member_tokens()[0]
    listing = httpx.get(
        f"{ctx.gateway}/api/v1/circles?limit=1", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    if listing.status_code != 200 or not listing.json().get("items"):
        raise NotAvailable(
            f"GET /api/v1/circles through the gateway answered {listing.status_code}: {listing.text[:200]}"
        )
    path = f"/api/v1/circles/{listing.json()['items'][0]['id']}"
    duration = int(ctx.scale(5, 3))
    rounds = int(ctx.scale(4, 1))
    result.load_generator = (
        f"wrk -t2 -c{CONNECTIONS}, {rounds} rounds × {duration} s per target, targets back to back in alternating "
        "order after "
        "a 2 s warm-up; ratios are the median of per-round ratios, latencies the median of rounds "
        "(gateway_bench.run_wrk)"
    )
    result.method = (
        f"`GET {path.rsplit('/', 1)[0]}/{{id}}` with a member's bearer token (a real circle of the seeded data): "
        "straight to "
        "the circles service, through the gateway (which verifies the token first), and through nginx (plain "
        "reverse proxy "
        "with upstream keep-alive) in front of the same circles service. Then the gateway engineer's isolated "
        "comparison "
        "(gateway_bench.bench_one with Redis: a tiny FastAPI JSON upstream, the real gateway in front of it). CPU "
        "time per "
        "request comes from /proc/<pid>/stat around each wrk run (gateway_bench's `watch`)."
    )
    circles_port = int(ctx.url("circles").rsplit(":", 1)[1])
    proxy = nginx.Nginx(ctx.work_dir, circles_port) if nginx.available() else None
    targets = {"direct": ctx.url("circles") + path, "gateway": ctx.gateway + path}
    runs: dict[str, list[dict]] = {}
    cpu_before = machine.cpu_snapshot(ctx.stack.cpu_roots())
    try:
        if proxy is not None:
            try:
                proxy.__enter__()
                targets["nginx"] = proxy.url + path
            except RuntimeError as exc:  # the gateway comparison stands without it
                result.details["nginx_error"] = str(exc)
                proxy = None
        for url in targets.values():
            _wrk(gb, url, token, duration=2)
        names = list(targets)
        processes = ctx.stack.platform.processes if ctx.stack.platform else {}
        watch = {name: processes[name].pid for name in ("circles", "gateway") if name in processes}
        for index in range(rounds):
            for name in names if index % 2 == 0 else list(reversed(names)):
                runs.setdefault(name, []).append(_wrk(gb, targets[name], token, duration=duration, watch=watch))
    finally:
        if proxy is not None:
            proxy.__exit__()
    result.details["platform_runs"] = runs
    others = machine.cpu_shares(cpu_before, machine.cpu_snapshot(ctx.stack.cpu_roots()))["others_pct"]
    noisy = (
        f"other processes used {others:.0f}% of the CPU meanwhile: throughput ratios are noise, compare CPU per request"
        if others > BUSY_MACHINE_PCT
        else ""
    )

    def med(name: str, field: str) -> float:
        return statistics.median(run[field] for run in runs[name])

    def ratio(name: str, base: str) -> float:
        """Median over rounds of this round's name/base throughput (neighbours in time, so a
        change in other load on the machine shifts both alike)."""
        return round(statistics.median(a["rps"] / b["rps"] for a, b in zip(runs[name], runs[base], strict=True)), 3)

    bad = sum(run["non_2xx"] + run["socket_errors"] for name in runs for run in runs[name])
    result.details["bad_answers"] = bad
    direct, gateway = med("direct", "rps"), med("gateway", "rps")
    result.add(
        "platform.direct_rps", "Real platform: straight to circles, throughput", round(direct), "req/s", ABSOLUTE
    )
    result.add(
        "platform.gateway_rps", "Real platform: through the gateway, throughput", round(gateway), "req/s", ABSOLUTE
    )
    result.add(
        "platform.ratio",
        "Real platform: gateway / direct throughput",
        ratio("gateway", "direct"),
        "×",
        RATIO,
        note=noisy,
        target=Target(">=", getattr(gb, "TARGET_RATIO", 0.5)),
    )
    result.add(
        "platform.p50_added",
        f"Real platform: latency the gateway adds at {CONNECTIONS} connections (p50)",
        round(med("gateway", "p50_ms") - med("direct", "p50_ms"), 3),
        "ms",
        ABSOLUTE,
        target=Target("<=", getattr(gb, "TARGET_P50_DELTA_MS", 1.0)),
        note="gateway p50 − direct p50, medians of the rounds",
    )
    for name in runs:
        result.add(f"platform.{name}_p50", f"Real platform: {name} p50", med(name, "p50_ms"), "ms", ABSOLUTE)
        result.add(f"platform.{name}_p99", f"Real platform: {name} p99", med(name, "p99_ms"), "ms", ABSOLUTE)
    if "circles_cpu_us_per_request" in runs["direct"][0]:
        direct_cpu = med("direct", "circles_cpu_us_per_request")
        via_cpu = med("gateway", "gateway_cpu_us_per_request")
        result.add(
            "platform.circles_cpu", "Real platform: circles CPU per request (direct)", direct_cpu, "µs", ABSOLUTE
        )
        result.add(
            "platform.gateway_cpu",
            "Real platform: gateway CPU per proxied request",
            via_cpu,
            "µs",
            ABSOLUTE,
            note=f"circles behind it {med('gateway', 'circles_cpu_us_per_request')} µs; "
            "CPU time is barely disturbed by other load",
        )
        result.add(
            "platform.gateway_cpu_share",
            "Real platform: gateway CPU / circles CPU per request",
            round(via_cpu / direct_cpu, 3),
            "×",
            RATIO,
        )
    if "nginx" in runs:
        result.add(
            "platform.nginx_ratio",
            "Real platform: nginx / direct throughput",
            ratio("nginx", "direct"),
            "×",
            RATIO,
            note=noisy,
        )
        result.add(
            "platform.gateway_vs_nginx",
            "Real platform: gateway / nginx throughput",
            ratio("gateway", "nginx"),
            "×",
            RATIO,
            note=noisy,
        )
    else:
        result.add(
            "platform.nginx_ratio",
            "Real platform: nginx / direct throughput",
            None,
            "×",
            RATIO,
            note="not available: "
            + result.details.get("nginx_error", "nginx is not installed (apt-get install -y nginx)"),
        )
    result.add(
        "platform.bad_answers",
        "Real platform: non-2xx answers and socket errors",
        bad,
        "",
        COUNT,
        target=Target("==", 0),
    )

    # The gateway engineer's own isolated comparison, with the targets of the gateway issue.
    token_s, jwks = gb.make_token()
    args = argparse.Namespace(rounds=rounds, duration=duration, connections=CONNECTIONS, threads=2, gateway_workers=1)
    # With Redis (a database of its own on the platform's server): revocation listener and rate
    # limits on, limits raised above the load, as gateway_bench.py --with-redis does.
    redis_url = ctx.stack.platform.env.get("REDIS_URL") if ctx.stack.platform else None
    if redis_url:
        redis_url = redis_url.rsplit("/", 1)[0] + "/15"
    try:
        isolated = gb.bench_one("fastapi", args, token_s, jwks, redis_url)
        summary = gb.summarise("fastapi", isolated)
    except Exception as exc:
        result.details["isolated"] = f"error: {type(exc).__name__}: {exc}"
        result.add(
            "isolated.ratio",
            "Synthetic upstream (gateway_bench): gateway / direct throughput",
            None,
            "×",
            RATIO,
            note=f"gateway_bench failed: {type(exc).__name__}: {str(exc)[:200]}",
        )
        return
    result.details["isolated"] = {"summary": summary, "raw": isolated}
    ratio_target = Target(">=", getattr(gb, "TARGET_RATIO", 0.5))
    previous = getattr(gb, "PREVIOUS", {})
    delta_target = Target("<=", getattr(gb, "TARGET_P50_DELTA_MS", 1.0))
    result.add(
        "isolated.direct_rps",
        "Synthetic upstream (gateway_bench): direct throughput",
        summary["direct_rps"],
        "req/s",
        ABSOLUTE,
    )
    result.add(
        "isolated.gateway_rps",
        "Synthetic upstream (gateway_bench): gateway throughput",
        summary["gateway_rps"],
        "req/s",
        ABSOLUTE,
    )
    result.add(
        "isolated.ratio",
        "Synthetic upstream (gateway_bench): gateway / direct throughput",
        summary["ratio"],
        "×",
        RATIO,
        target=ratio_target,
        note=f"previous own front server: {previous.get('ratio', 'n/a')}",
    )
    result.add(
        "isolated.p50",
        "Synthetic upstream: p50 direct → gateway",
        summary["gateway_p50_ms"],
        "ms",
        ABSOLUTE,
        note=f"direct {summary['direct_p50_ms']} ms",
    )
    result.add(
        "isolated.p50_added",
        f"Synthetic upstream: latency the gateway adds at {CONNECTIONS} connections (p50)",
        round(summary["gateway_p50_ms"] - summary["direct_p50_ms"], 3),
        "ms",
        ABSOLUTE,
        target=delta_target,
    )
    result.add(
        "isolated.p99",
        "Synthetic upstream: p99 direct → gateway",
        summary["gateway_p99_ms"],
        "ms",
        ABSOLUTE,
        note=f"direct {summary['direct_p99_ms']} ms",
    )
    if "gateway_cpu_us_per_request" in summary:
        result.add(
            "isolated.gateway_cpu",
            "Synthetic upstream: gateway CPU per proxied request (uvicorn front end)",
            summary["gateway_cpu_us_per_request"],
            "µs",
            ABSOLUTE,
            note=f"previous own front server: {previous.get('gateway_cpu_us_per_request', 'n/a')} µs",
        )
        result.add(
            "isolated.service_cpu",
            "Synthetic upstream: service CPU per request (direct / behind the gateway)",
            summary.get("upstream_cpu_us_per_request_direct"),
            "µs",
            ABSOLUTE,
            note=f"behind the gateway {summary.get('upstream_cpu_us_per_request_via_gateway')} µs",
        )
    result.add(
        "isolated.light_p50_delta",
        "Synthetic upstream: latency the gateway adds at 1 connection (p50)",
        summary["light_p50_delta_ms"],
        "ms",
        ABSOLUTE,
        target=delta_target,
    )
    result.add(
        "isolated.bad_answers",
        "Synthetic upstream: non-2xx answers and socket errors",
        summary["bad_answers"],
        "",
        COUNT,
        target=Target("==", 0),
    )
