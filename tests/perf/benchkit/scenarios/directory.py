"""(f) Staff directory search through the gateway: a ptm searches members by display name.

The issue's target is an organisation of 5,000 members. The seeded data set has 90,000 people,
so for the measurement all but 5,000 of them (those with circles first) hide themselves from the
directory, as a member can; the directory's indexes are partial (shown profiles only), so after
VACUUM the search works on exactly 5,000 people. Their visibility is restored afterwards.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

import asyncpg
import httpx

from benchkit.context import BenchContext
from benchkit.load import Request, closed_loop
from benchkit.report import ABSOLUTE, COUNT, NotAvailable, ScenarioResult, Target
from benchkit.seed import MEMBER_PASSWORD
from benchkit.tokens import login_all

TITLE = "(f) Directory search through the gateway"
PATH = "/api/v1/directory"
CONNECTIONS = 8  # staff searching at once; the directory is a staff tool, not a member's page
P95_TARGET_MS = 25.0
TARGET_MEMBERS = 5_000
# Short and long fragments, upper and lower case, first and family names, no match, everyone.
QUERIES = ("jo", "MAR", "an", "peter", "son", "ch", "Lukas", "zzzz", "", "mi", "ER", "thomas")


async def _searcher_token(ctx: BenchContext, email: str) -> str:
    """A seeded member made ptm in auth, then signed in: the token carries the role."""
    creds = await asyncpg.connect(ctx.creds_dsn)
    try:
        await creds.execute(
            "UPDATE auth.users SET roles = array_append(roles, 'ptm') WHERE email = $1 AND NOT 'ptm' = ANY(roles)",
            email,
        )
    finally:
        await creds.close()
    tokens = await login_all(ctx.gateway, [email], MEMBER_PASSWORD)
    if email not in tokens:
        raise NotAvailable("the ptm could not sign in")
    return tokens[email]


async def _show_only(ctx: BenchContext, members: int | None) -> int:
    """Hide every profile but `members` of them (None: show everyone again); how many are shown."""
    main = await asyncpg.connect(ctx.main_dsn)
    try:
        if members is None:
            await main.execute("UPDATE circles.profiles SET directory_visible = true WHERE NOT directory_visible")
        else:
            await main.execute(
                """WITH kept AS (
                       SELECT p.user_id FROM circles.profiles p
                        ORDER BY EXISTS (SELECT 1 FROM circles.memberships m
                                          WHERE m.user_id = p.user_id AND m.status = 'active') DESC, p.user_id
                        LIMIT $1)
                   UPDATE circles.profiles p SET directory_visible = (p.user_id IN (SELECT user_id FROM kept))""",
                members,
            )
        # Dead row versions would otherwise stay in the indexes until autovacuum comes by.
        await main.execute("VACUUM ANALYZE circles.profiles")
        return int(
            await main.fetchval("SELECT count(*) FROM circles.profiles WHERE directory_visible AND erased_at IS NULL")
        )
    finally:
        await main.close()


def _paths(ctx: BenchContext, token: str) -> list[str]:
    headers = {"Authorization": f"Bearer {token}"}
    paths = [PATH + ("?" + urlencode({"q": q}) if q else "") for q in QUERIES]
    with httpx.Client(base_url=ctx.gateway, headers=headers, timeout=10) as client:
        first = client.get(PATH, params={"q": "an"})
        if first.status_code == 404:
            raise NotAvailable("circles has no GET /api/v1/directory yet (or the gateway does not route it)")
        cursor = first.json().get("next_cursor") if first.status_code == 200 else None
        if cursor:
            paths.append(f"{PATH}?{urlencode({'q': 'an', 'cursor': cursor})}")
        for path in paths:
            response = client.get(path)
            if response.status_code != 200:
                raise NotAvailable(f"{path} answered {response.status_code}: {response.text[:200]}")
    return paths


def run(ctx: BenchContext, result: ScenarioResult) -> None:
    ctx.require_ready("gateway", "circles", "auth")
    ctx.require_route("circles", "GET", PATH)
    seed = ctx.require_seed()
    if not seed.member_emails:
        raise NotAvailable("no seeded member to make ptm")
    token = asyncio.run(_searcher_token(ctx, seed.member_emails[-1]))
    shown = asyncio.run(_show_only(ctx, TARGET_MEMBERS))
    try:
        _measure(ctx, result, token, shown)
    finally:
        asyncio.run(_show_only(ctx, None))


def _measure(ctx: BenchContext, result: ScenarioResult, token: str, shown: int) -> None:
    paths = _paths(ctx, token)
    duration = ctx.scale(15, 5)
    headers = {"Authorization": f"Bearer {token}"}
    result.details.update(query_mix=paths, shown_profiles=shown)
    result.method = (
        f"A seeded member made ptm searches the directory of {shown:,} shown profiles (the other seeded people "
        f"hidden from it for the run, then shown again) through the gateway: {len(paths)} query shapes (short and "
        "long name fragments, "
        f"mixed case, no match, no filter, a second page by cursor), {CONNECTIONS} concurrent clients for "
        f"{duration:.0f} s after a 2 s warm-up. Each answer is a page of 20 with each person's active circles."
    )
    result.load_generator = f"aiohttp closed loop, {CONNECTIONS} concurrent"

    def forever():
        while True:
            for path in paths:
                yield Request("GET", ctx.gateway + path, headers)

    asyncio.run(closed_loop(forever(), concurrency=CONNECTIONS, duration=2))
    meter = ctx.cpu_meter().start()
    load = asyncio.run(closed_loop(forever(), concurrency=CONNECTIONS, duration=duration))
    meter.stop()
    result.details["load"] = load.summary()
    result.add("shown_profiles", "Profiles the directory searches", shown, "", COUNT)
    result.add("throughput", "Directory searches through the gateway", round(load.rate), "req/s", ABSOLUTE)
    result.add("p50", "Directory search p50", load.p50_ms, "ms", ABSOLUTE)
    result.add(
        "p95",
        f"Directory search p95 at {CONNECTIONS} concurrent clients",
        load.p95_ms,
        "ms",
        ABSOLUTE,
        target=Target("<=", P95_TARGET_MS),
    )
    result.add("p99", "Directory search p99", load.p99_ms, "ms", ABSOLUTE)
    result.add(
        "bad_answers", "Directory: non-2xx answers and socket errors", load.bad(), "", COUNT, target=Target("==", 0)
    )
    meter.record(result, load.requests, label="directory search")
