"""(b) Circle listing through the gateway at 32 concurrent clients, and the number of SQL
statements one list request costs at different page sizes (it must not grow with the page)."""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from urllib.parse import urlencode

import asyncpg
import httpx

from benchkit.context import BenchContext
from benchkit.load import LoadResult, Request, closed_loop, run_wrk, wrk_available
from benchkit.report import ABSOLUTE, COUNT, NotAvailable, ScenarioResult, Target
from benchkit.stack import SERVICE_ROLES

TITLE = "(b) Circle listing through the gateway"
CONNECTIONS = 32
P95_TARGET_MS = 25.0
PAGE_SIZES = (1, 10, 50, 100)
STATEMENT_SAMPLES = 30
WARM_UP_SECONDS = 3
# Statements reading the listing's tables; background work (outbox relay, event consumers, seat
# hold sweep) touches other tables, so this count is free of it.
CACHE_CHANNEL = "circles_listing"  # services/circles/migrations/versions/0004_listing_notify.py
DOMAIN = re.compile(r"\bcircles\.(circles|memberships|profiles)\b", re.I)


def _query_mix(ctx: BenchContext, token: str) -> list[str]:
    """Paths a browsing member sends: default page, sorts, filters, text search, later pages."""
    base = "/api/v1/circles"
    params = [
        {},
        {"sort": "-created_at"},
        {"city": "Berlin"},
        {"has_open_seats": "true", "weekday": "tuesday"},
        {"q": "oak"},
        {"online": "true"},
        {"sort": "open_seats", "limit": "50"},
        {"q": "grief", "has_open_seats": "true"},
    ]
    paths = [base + ("?" + urlencode(p) if p else "") for p in params]
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=ctx.gateway, headers=headers, timeout=10) as client:
        cursor = None
        for _ in range(2):  # pages 2 and 3 of the default listing
            response = client.get(base, params={"cursor": cursor} if cursor else None)
            cursor = response.json().get("next_cursor") if response.status_code == 200 else None
            if not cursor:
                break
            paths.append(f"{base}?{urlencode({'cursor': cursor})}")
        usable = []
        for path in paths:
            response = client.get(path)
            if response.status_code == 200:
                usable.append(path)
            else:
                print(f"  listing: {path} answered {response.status_code}; left out of the mix", flush=True)
    if not usable:
        raise NotAvailable("no listing query answered 200 through the gateway")
    return usable


async def _clear_listing_cache(conn: asyncpg.Connection) -> None:
    """What any change of a circle does: the circles service hears the NOTIFY and forgets every
    cached page, so the next list request runs its SQL (the statements counted here)."""
    await conn.execute(f"NOTIFY {CACHE_CHANNEL}")
    await asyncio.sleep(0.02)


def _cache_outcomes(ctx: BenchContext) -> dict[str, float]:
    """circles_listing_cache_total by outcome, read from the circles service's /metrics."""
    try:
        text = httpx.get(f"{ctx.url('circles')}/metrics", timeout=10).text
    except httpx.HTTPError:
        return {}
    found = {}
    for match in re.finditer(r'^circles_listing_cache_total\{outcome="(\w+)"\} ([0-9.e+]+)$', text, re.M):
        found[match.group(1)] = float(match.group(2))
    return found


async def _statement_counts(ctx: BenchContext, token: str) -> dict:
    role = SERVICE_ROLES["circles"]
    conn = await asyncpg.connect(ctx.stack.pg_url("postgres"))
    main = await asyncpg.connect(ctx.main_dsn)  # NOTIFY reaches listeners of the same database only
    try:
        try:
            await conn.fetchval("SELECT count(*) FROM pg_stat_statements")
        except asyncpg.PostgresError as exc:
            raise NotAvailable(f"pg_stat_statements is not usable: {exc}") from None

        async def snapshot() -> dict[int, tuple[str, int]]:
            rows = await conn.fetch(
                """SELECT s.queryid, s.query, s.calls FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
                    WHERE r.rolname = $1""",
                role,
            )
            return {row["queryid"]: (row["query"], row["calls"]) for row in rows}

        def total(snap: dict[int, tuple[str, int]]) -> int:
            return sum(calls for _, calls in snap.values())

        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=ctx.gateway, headers=headers, timeout=10) as client:
            for limit in PAGE_SIZES:  # warm every shape once (pool connections, prepared statements)
                for _ in range(3):
                    await client.get("/api/v1/circles", params={"limit": limit})
            before = await snapshot()
            idle_started = time.perf_counter()
            await asyncio.sleep(2.0)
            idle = total(await snapshot()) - total(before)
            background_rate = idle / (time.perf_counter() - idle_started)
            out: dict = {"background_statements_per_s": round(background_rate, 2), "per_page_size": {}}
            for limit in PAGE_SIZES:
                before = await snapshot()
                started = time.perf_counter()
                items = set()
                miss_seconds = []
                for _ in range(STATEMENT_SAMPLES):
                    await _clear_listing_cache(main)
                    sent = time.perf_counter()
                    response = await client.get("/api/v1/circles", params={"limit": limit})
                    miss_seconds.append(time.perf_counter() - sent)
                    if response.status_code != 200:
                        raise NotAvailable(f"GET /api/v1/circles?limit={limit} answered {response.status_code}")
                    items.add(len(response.json()["items"]))
                elapsed = time.perf_counter() - started
                after = await snapshot()
                delta = total(after) - total(before)
                per_request = (delta - background_rate * elapsed) / STATEMENT_SAMPLES
                domain = (
                    sum(
                        calls - before.get(qid, ("", 0))[1]
                        for qid, (query, calls) in after.items()
                        if DOMAIN.search(query)
                    )
                    / STATEMENT_SAMPLES
                )
                breakdown = sorted(
                    (
                        (
                            round((calls - before.get(qid, ("", 0))[1]) / STATEMENT_SAMPLES, 2),
                            " ".join(query.split())[:160],
                        )
                        for qid, (query, calls) in after.items()
                        if calls > before.get(qid, ("", 0))[1]
                    ),
                    reverse=True,
                )
                out["per_page_size"][limit] = {
                    "domain_statements_per_request": round(domain, 2),
                    "all_statements_per_request": round(per_request, 2),
                    "items_per_page": sorted(items),
                    "miss_latency_ms_median": round(statistics.median(miss_seconds) * 1000, 2),
                    "raw_delta": delta,
                    "seconds": round(elapsed, 3),
                    "statements": breakdown[:12],
                }
        return out
    finally:
        await conn.close()
        await main.close()


def run(ctx: BenchContext, result: ScenarioResult) -> None:
    ctx.require_ready("gateway", "circles")
    ctx.require_route("circles", "GET", "/api/v1/circles")
    seed = ctx.require_seed()
    tokens = ctx.require_member_tokens()
    paths = _query_mix(ctx, tokens[0])
    duration = ctx.scale(15, 5)
    specs = [("GET", path, {"Authorization": f"Bearer {token}"}, None) for token in tokens for path in paths]
    result.details["query_mix"] = paths
    result.details["members_sending"] = len(tokens)
    result.details["seeded"] = seed.counts
    result.method = (
        f"{len(tokens)} signed-in members (seeded members of circles, some private) browse the "
        f"{seed.counts.get('circles.circles', 0):,} "
        f"seeded circles through the gateway: {len(paths)} query shapes (default page, sorts, "
        "city/weekday/online/open-seat "
        f"filters, text search, pages 2–3 by cursor), every member × shape cycled, {CONNECTIONS} connections for "
        f"{duration:.0f} s. Statement count: `pg_stat_statements` calls by the circles service's own database role, "
        f"{STATEMENT_SAMPLES} sequential requests per page size {PAGE_SIZES}, each after a NOTIFY that clears the "
        "listing cache (so each one runs its SQL); the figure counts statements naming "
        "circles.circles/memberships/profiles (the listing's tables, untouched by background jobs); the total of "
        "all the "
        "role's statements, minus its background rate over 2 idle seconds, is in the notes."
    )
    if wrk_available():
        # Warm-up, as in the gateway scenario: pool connections opened, statements prepared, each
        # member's scope and each page cached once. Steady state is what is measured.
        run_wrk(
            ctx.gateway,
            specs,
            connections=CONNECTIONS,
            duration=WARM_UP_SECONDS,
            work_dir=ctx.work_dir,
            name="listing-warm-up",
        )
    outcomes_before = _cache_outcomes(ctx)
    meter = ctx.cpu_meter().start()
    if wrk_available():
        result.load_generator = (
            f"wrk -t2 -c{CONNECTIONS} with a Lua script cycling pre-formatted requests (per-member tokens), "
            f"after a {WARM_UP_SECONDS} s warm-up with the same mix"
        )
        load = run_wrk(
            ctx.gateway, specs, connections=CONNECTIONS, duration=duration, work_dir=ctx.work_dir, name="listing"
        )
    else:
        result.load_generator = f"aiohttp closed loop, {CONNECTIONS} concurrent (wrk not installed)"
        load = asyncio.run(_aiohttp_listing(ctx.gateway, specs, duration))
    meter.stop()
    outcomes_after = _cache_outcomes(ctx)
    result.details["load"] = load.summary()
    result.add("throughput", "Listing throughput through the gateway", round(load.rate), "req/s", ABSOLUTE)
    result.add("p50", "Listing p50", load.p50_ms, "ms", ABSOLUTE)
    result.add(
        "p95",
        f"Listing p95 at {CONNECTIONS} concurrent clients",
        load.p95_ms,
        "ms",
        ABSOLUTE,
        target=Target("<=", P95_TARGET_MS),
    )
    result.add("p99", "Listing p99", load.p99_ms, "ms", ABSOLUTE)
    result.add(
        "bad_answers", "Listing: non-2xx answers and socket errors", load.bad(), "", COUNT, target=Target("==", 0)
    )
    meter.record(result, load.requests, label="list request")
    hits = outcomes_after.get("hit", 0) - outcomes_before.get("hit", 0)
    misses = outcomes_after.get("miss", 0) - outcomes_before.get("miss", 0)
    if hits + misses:
        result.add(
            "cache_hits",
            "Share of list requests answered from the circles listing cache",
            round(hits / (hits + misses), 3),
            "",
            COUNT,
            note=f"{int(misses)} misses (SQL run) of {int(hits + misses)}; the cache is cleared by any change of "
            "circles, memberships or names; the statement counts below are taken on misses",
        )

    try:
        counts = asyncio.run(_statement_counts(ctx, tokens[0]))
    except NotAvailable as exc:
        result.details["statement_count"] = f"not available: {exc}"
        return
    result.details["statement_count"] = counts
    per_size = counts["per_page_size"]
    for limit in PAGE_SIZES:
        entry = per_size[limit]
        result.add(
            f"statements.limit_{limit}",
            f"SQL statements on circles/memberships/profiles per list request, limit={limit}",
            entry["domain_statements_per_request"],
            "",
            COUNT,
            note=f"all statements of the circles role ≈ {entry['all_statements_per_request']} (background-corrected); "
            f"pages held {entry['items_per_page']} items",
        )
    for limit in (PAGE_SIZES[1], PAGE_SIZES[-1]):
        result.add(
            f"miss_latency.limit_{limit}",
            f"List request on a cleared cache (one at a time), limit={limit}, median",
            per_size[limit]["miss_latency_ms_median"],
            "ms",
            ABSOLUTE,
            note="what a page costs when any change has just cleared the cache: "
            "scope + page + facilitators SQL, rendering",
        )
    growth = (
        per_size[PAGE_SIZES[-1]]["domain_statements_per_request"]
        - per_size[PAGE_SIZES[0]]["domain_statements_per_request"]
    )
    result.add(
        "statements.growth",
        f"Statement growth from limit={PAGE_SIZES[0]} to limit={PAGE_SIZES[-1]}",
        round(growth, 2),
        "",
        COUNT,
        target=Target("<=", 0.5),
        note="≈0 means no query per row (no N+1)",
    )


async def _aiohttp_listing(gateway: str, specs: list[tuple], duration: float) -> LoadResult:
    def forever():
        while True:
            for method, path, headers, _ in specs:
                yield Request(method, gateway + path, headers)

    return await closed_loop(forever(), concurrency=CONNECTIONS, duration=duration)
