"""(c) Registration under contention: many members register at once for events with few seats.

Every (member, event) pair is sent exactly once, shuffled, 64 at a time, through the gateway.
Afterwards SQL checks what no response can prove: no event holds more seats than it has, the
counters match the rows, waitlist positions are dense, nobody is registered twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import uuid
from collections import Counter

import asyncpg

from benchkit import baseline
from benchkit.context import BenchContext
from benchkit.load import Request, closed_loop
from benchkit.report import ABSOLUTE, COUNT, NotAvailable, ScenarioResult, Target

TITLE = "(c) Event registration under contention"
CONCURRENCY = 64
TARGET_RATE = 300.0
TARGET_CPU_MS = 2.5  # platform CPU per registration, all processes
TARGET_P99_MS = 150.0
ROUTE = "/api/v1/events/{event_id}/registrations"
MAX_SECONDS = 90  # bounded run time on a slow machine; what was sent is still checked


async def _verify(dsn: str, event_ids: list[str]) -> list[dict]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            """SELECT e.id, e.capacity, e.seats_taken, e.confirmed_count, e.waitlist_count,
                      count(r.id) FILTER (WHERE r.status IN ('confirmed', 'pending_payment')) AS seated,
                      count(r.id) FILTER (WHERE r.status = 'confirmed') AS confirmed,
                      count(r.id) FILTER (WHERE r.status = 'pending_payment') AS held,
                      count(r.id) FILTER (WHERE r.status = 'waitlisted') AS waitlisted,
                      count(DISTINCT r.waitlist_position) FILTER (WHERE r.status = 'waitlisted') AS positions,
                      coalesce(max(r.waitlist_position) FILTER (WHERE r.status = 'waitlisted'), 0) AS last_position,
                      count(r.id) FILTER (WHERE r.status IN ('confirmed', 'pending_payment', 'waitlisted'))
                        - count(DISTINCT r.user_id)
                          FILTER (WHERE r.status IN ('confirmed', 'pending_payment', 'waitlisted'))
                        AS duplicates,
                      count(r.id) AS rows
                 FROM circles.events e LEFT JOIN circles.event_registrations r ON r.event_id = e.id
                WHERE e.id = ANY($1::uuid[])
                GROUP BY e.id""",
            [uuid.UUID(e) for e in event_ids],
        )
    finally:
        await conn.close()
    out = []
    for row in rows:
        entry = {k: (str(v) if k == "id" else int(v)) for k, v in dict(row).items()}
        entry["overbooked"] = max(0, entry["seated"] - entry["capacity"])
        entry["counter_mismatch"] = int(
            entry["seats_taken"] != entry["seated"]
            or entry["confirmed_count"] != entry["confirmed"]
            or entry["waitlist_count"] != entry["waitlisted"]
        )
        entry["waitlist_gaps"] = int(
            entry["positions"] != entry["waitlisted"] or entry["last_position"] != entry["waitlisted"]
        )
        out.append(entry)
    return out


async def _missing(dsn: str, ids: list[str]) -> int:
    """How many of the registration ids the service answered with have no row."""
    valid = []
    for value in ids:
        with contextlib.suppress(ValueError):
            valid.append(uuid.UUID(value))
    conn = await asyncpg.connect(dsn)
    try:
        found = await conn.fetchval(
            "SELECT count(*) FROM circles.event_registrations WHERE id = ANY($1::uuid[])", valid
        )
    finally:
        await conn.close()
    return len(ids) - int(found)


def run(ctx: BenchContext, result: ScenarioResult) -> None:
    ctx.require_ready("gateway", "circles")
    ctx.require_route("circles", "POST", ROUTE)
    seed = ctx.require_seed()
    if not seed.contention_events:
        raise NotAvailable("no events were seeded: " + "; ".join(seed.notes or ["events tables missing"]))
    if not ctx.registration_tokens:
        raise NotAvailable(f"no signed-in members to register: {ctx.token_error}")
    events = seed.contention_events
    tokens = list(ctx.registration_tokens.values())
    if ctx.quick:
        tokens = tokens[:300]
    pairs = [(token, event) for token in tokens for event in events]
    random.Random(7).shuffle(pairs)
    result.load_generator = (
        f"aiohttp closed loop, {CONCURRENCY} in flight (a different member's token and an Idempotency-Key per request)"
    )
    free = sum(1 for e in events if e["price"] == 0)
    result.method = (
        f"{len(tokens)} signed-in members each register once for each of {len(events)} published events of "
        f"{events[0]['capacity']} seats ({free} free, {len(events) - free} paid: seats held for payment), "
        f"{len(pairs)} POST {ROUTE} in random order through the gateway, {CONCURRENCY} at a time; every request is a "
        "first registration (seat or waitlist). Then SQL: seats held ≤ capacity, counters = rows, dense waitlist, no "
        "duplicate active registration."
    )
    statuses_by_body: Counter[str] = Counter()
    problems: list[str] = []
    confirmed_ids: list[str] = []  # registration ids the answers gave

    def on_response(request: Request, status: int, body: bytes) -> None:
        if status in (200, 201):
            try:
                answer = json.loads(body)
                statuses_by_body[answer.get("status", "?")] += 1
                confirmed_ids.append(str(answer.get("id")))
            except ValueError:
                statuses_by_body["unparsable"] += 1
        elif len(problems) < 5:
            problems.append(f"{status} {body[:200]!r}")

    requests = (
        Request(
            "POST",
            f"{ctx.gateway}{ROUTE.format(event_id=event['id'])}",
            {
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Idempotency-Key": uuid.uuid4().hex,
            },
            b"{}",
        )
        for token, event in pairs
    )
    bare = ctx.durable_insert_baseline(CONCURRENCY)
    meter = ctx.cpu_meter().measure_idle(ctx.scale(5, 3)).start()
    load = asyncio.run(closed_loop(requests, concurrency=CONCURRENCY, on_response=on_response, duration=MAX_SECONDS))
    meter.stop()
    checks = asyncio.run(_verify(ctx.main_dsn, [e["id"] for e in events]))
    missing = asyncio.run(_missing(ctx.main_dsn, confirmed_ids))
    result.details.update(load=load.summary(), outcomes=dict(statuses_by_body), sample_errors=problems, sql=checks)
    created = load.statuses.get(201, 0)
    rate = round(load.ok() / load.seconds, 1) if load.seconds else None
    result.add(
        "rate",
        "Registrations per second (first registrations, through the gateway)",
        rate,
        "req/s",
        ABSOLUTE,
        target=Target(">=", TARGET_RATE),
    )
    baseline.record(result, bare, rate, what="Registrations")
    meter.record(result, load.requests, label="registration", target_ms=TARGET_CPU_MS)
    result.add("p50", "Registration p50", load.p50_ms, "ms", ABSOLUTE)
    result.add(
        "p99",
        f"Registration p99 ({CONCURRENCY} in flight)",
        load.p99_ms,
        "ms",
        ABSOLUTE,
        target=Target("<=", TARGET_P99_MS),
    )
    result.add(
        "answers_not_2xx",
        "Registration answers other than 2xx (incl. transport errors)",
        load.bad(),
        "",
        COUNT,
        target=Target("==", 0),
    )
    seated = sum(c["seated"] for c in checks)
    result.add(
        "outcome",
        "Seats given / waitlisted",
        seated,
        "seats",
        COUNT,
        note=f"{sum(c['waitlisted'] for c in checks)} waitlisted; answers {dict(statuses_by_body)}",
    )
    result.add(
        "overbooked",
        "Seats sold beyond capacity (SQL)",
        sum(c["overbooked"] for c in checks),
        "",
        COUNT,
        target=Target("==", 0),
    )
    result.add(
        "inconsistent",
        "Events whose counters, waitlist or duplicates disagree with rows (SQL)",
        sum(c["counter_mismatch"] + c["waitlist_gaps"] + (1 if c["duplicates"] else 0) for c in checks),
        "",
        COUNT,
        target=Target("==", 0),
    )
    rows = sum(c["rows"] for c in checks)
    result.add(
        "lost",
        "Registrations answered 2xx but missing in SQL",
        missing,
        "",
        COUNT,
        target=Target("==", 0),
        note=f"{rows} rows for {created} × 201; rows beyond the 201s belong to requests that timed out at the "
        "gateway (504) after the service committed — an Idempotency-Key retry returns them",
    )
