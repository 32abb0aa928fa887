"""(d) Stripe webhook ingest: signed events posted through the gateway, each stored exactly once.

Each event is signed like Stripe does (HMAC-SHA256 over "<t>.<raw body>" with the configured
STRIPE_WEBHOOK_SECRET); one in ten is delivered a second time later in the run, as Stripe does
on retries. SQL then counts the inbox rows of this run: one per distinct event id.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid

import asyncpg
import httpx

from benchkit import baseline
from benchkit.context import BenchContext
from benchkit.load import Request, closed_loop
from benchkit.report import ABSOLUTE, COUNT, NotAvailable, ScenarioResult, Target
from benchkit.stripe_sign import make_event, signature_header

TITLE = "(d) Stripe webhook ingest"
CONCURRENCY = 64
TARGET_RATE = 500.0
TARGET_CPU_MS = 1.5  # platform CPU per webhook, all processes (storing and processing)
PATH = "/api/v1/payments/webhooks/stripe"
DUPLICATE_SHARE = 0.1
MAX_SECONDS = 60  # bounded run time on a slow machine; what was sent is still checked


async def _inbox_table(dsn: str) -> tuple[str, str]:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            """SELECT table_schema, table_name FROM information_schema.columns
                WHERE column_name = 'stripe_event_id' AND table_schema = 'payments'
                ORDER BY (table_name = 'webhook_events') DESC LIMIT 1"""
        )
    finally:
        await conn.close()
    if row is None:
        raise NotAvailable("payments has no table with a stripe_event_id column (webhook inbox not migrated yet)")
    return row["table_schema"], row["table_name"]


async def _stored(dsn: str, table: str, prefix: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(f"SELECT stripe_event_id FROM {table} WHERE stripe_event_id LIKE $1", f"evt_{prefix}%")
    finally:
        await conn.close()
    return [row["stripe_event_id"] for row in rows]


def run(ctx: BenchContext, result: ScenarioResult) -> None:
    ctx.require_ready("gateway", "payments")
    ctx.require_route("payments", "POST", PATH)
    schema, table = asyncio.run(_inbox_table(ctx.main_dsn))
    qualified = f'"{schema}"."{table}"'
    probe = httpx.post(
        ctx.gateway + PATH, content=b'{"id":"evt_probe"}', headers={"Stripe-Signature": "t=1,v1=00"}, timeout=10
    )
    if probe.status_code not in (400, 401, 403):
        raise NotAvailable(
            f"a badly signed webhook answered {probe.status_code} through the gateway (expected 400): "
            f"{probe.text[:200]}"
        )

    distinct = int(ctx.scale(4000, 800))
    prefix = f"bench{uuid.uuid4().hex[:8]}_"
    secret = ctx.webhook_secret
    bodies = [make_event(n, prefix=prefix) for n in range(distinct)]
    order = list(range(distinct))
    rng = random.Random(11)
    # Duplicates arrive later than their first delivery (Stripe retries after a delay).
    for n in rng.sample(range(distinct), int(distinct * DUPLICATE_SHARE)):
        order.insert(rng.randrange(min(len(order), order.index(n) + 1 + distinct // 10), len(order) + 1), n)
    seen_duplicate_flags = {"duplicate": 0, "fresh": 0, "other": 0}
    problems: list[str] = []
    attempted: set[str] = set()
    acknowledged: set[str] = set()

    def on_response(request: Request, status: int, body: bytes) -> None:
        if 200 <= status < 300:
            acknowledged.add(request.tag)
            try:
                flag = json.loads(body).get("duplicate")
            except ValueError:
                flag = None
            seen_duplicate_flags["duplicate" if flag is True else "fresh" if flag is False else "other"] += 1
        elif len(problems) < 5:
            problems.append(f"{status} {body[:200]!r}")

    def requests():
        for n in order:
            event_id, body = bodies[n]
            attempted.add(event_id)
            # Signed when sent, as Stripe signs each delivery attempt.
            yield Request(
                "POST",
                ctx.gateway + PATH,
                {"Content-Type": "application/json", "Stripe-Signature": signature_header(secret, body)},
                body,
                tag=event_id,
            )

    result.load_generator = f"aiohttp closed loop, {CONCURRENCY} in flight (a different signed body per request)"
    result.method = (
        f"{distinct} distinct Stripe-shaped events (payment_intent.*, charge.*, checkout.session.completed, "
        "invoice.paid, "
        f"customer.updated; objects not belonging to any obligation) plus {len(order) - distinct} re-deliveries of "
        f"earlier ones ({DUPLICATE_SHARE:.0%}), each signed at send time with the configured STRIPE_WEBHOOK_SECRET, "
        f"POST {PATH} through the gateway, {CONCURRENCY} at a time. Then SQL counts this run's rows in "
        f"{schema}.{table}: every acknowledged event is there, once (at most {MAX_SECONDS} s of sending)."
    )
    bare = ctx.durable_insert_baseline(CONCURRENCY)
    meter = ctx.cpu_meter().measure_idle(ctx.scale(5, 3)).start()
    load = asyncio.run(closed_loop(requests(), concurrency=CONCURRENCY, on_response=on_response, duration=MAX_SECONDS))
    meter.stop()
    stored = asyncio.run(_stored(ctx.main_dsn, qualified, prefix))
    stored_ids = set(stored)
    lost = len(acknowledged - stored_ids)
    result.details.update(
        load=load.summary(),
        acknowledgements=seen_duplicate_flags,
        sample_errors=problems,
        inbox={
            "table": f"{schema}.{table}",
            "rows": len(stored),
            "distinct_ids": len(stored_ids),
            "attempted_distinct": len(attempted),
            "acknowledged_distinct": len(acknowledged),
            "planned_deliveries": len(order),
            "unexpected_ids": len(stored_ids - attempted),
        },
    )
    rate = round(load.ok() / load.seconds, 1) if load.seconds else None
    result.add(
        "rate",
        "Webhooks acknowledged per second (through the gateway)",
        rate,
        "req/s",
        ABSOLUTE,
        target=Target(">=", TARGET_RATE),
    )
    baseline.record(result, bare, rate, what="Webhooks acknowledged")
    meter.record(result, load.requests, label="webhook", target_ms=TARGET_CPU_MS)
    result.add("p50", "Webhook p50", load.p50_ms, "ms", ABSOLUTE)
    result.add("p99", "Webhook p99", load.p99_ms, "ms", ABSOLUTE)
    result.add(
        "not_acknowledged",
        "Webhooks not acknowledged with 2xx (incl. transport errors)",
        load.bad(),
        "",
        COUNT,
        target=Target("==", 0),
    )
    result.add(
        "lost",
        "Acknowledged events missing from the inbox (SQL)",
        lost,
        "",
        COUNT,
        target=Target("==", 0),
        note=f"{len(stored_ids)} ids stored of {len(attempted)} distinct sent, {load.requests} deliveries",
    )
    result.add(
        "duplicate_rows",
        "Inbox rows beyond one per event id (SQL)",
        len(stored) - len(stored_ids),
        "",
        COUNT,
        target=Target("==", 0),
    )
