"""(f) Leadership's reports over a year of data: p95 per report through the gateway.

Seeds, with generate_series in SQL straight into the services' tables (not through the API), a
year of data: 500 circles with 5,000 members
(some leaving, some joining), 50,000 meetings with their attendance sheets, four quarterly goals
per member, 2,000 events with their registrations and waitlists, and 60,000 payments (monthly
dues and event registrations, in two currencies) with refunds. Then refreshes the report views
(timed) and measures each report's latency for that year, signed in as the admin.

The year is the twelve months that ended three years before the current month: the rest of the
benchmark's data set (10,000 circles with 100,000 memberships from the last 900 days, events
around now) shares the tables, and its circles would otherwise make the per-circle tables twenty
times larger than the data set the target is set for. The views are refreshed over everything,
and one more figure measures the retention report over the last twelve months, where those
circles are (no target: it shows how the per-circle table grows with the organisation).
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, date, datetime

from benchkit.context import BenchContext
from benchkit.load import Request, closed_loop
from benchkit.report import ABSOLUTE, COUNT, NotAvailable, ScenarioResult, Target
from benchkit.stack import ADMIN_EMAIL, ADMIN_PASSWORD
from benchkit.tokens import login_all

TITLE = "(f) Reports over a year of data"
REPORTS = ("retention", "attendance", "goals", "events", "dues", "revenue")
# Each report's materialized views: circles migration 0009_reports, payments migration 0006_reports.
VIEWS = {
    "circles": ("report_membership_flows", "report_attendance_monthly", "report_goals_monthly", "report_event_fill"),
    "payments": ("report_dues_monthly", "report_revenue_monthly", "report_revenue_events"),
}
P95_TARGET_MS = 200.0
CONCURRENCY = 4
PAYMENTS_TOTAL = 60_000

SEED = """
SET TIME ZONE 'UTC';
CREATE TEMP TABLE r_circles AS SELECT gen_random_uuid() AS id, n FROM generate_series(1, 500) n;
INSERT INTO circles.circles (id, name, capacity_max, capacity_min, schedule_weekday, schedule_time,
       schedule_timezone, schedule_frequency, location_online, visibility, join_policy, created_by, created_at)
SELECT id, 'Report circle ' || n, 10, 2, 'monday', '19:00', 'UTC', 'weekly', true, 'public', 'open',
       gen_random_uuid(), TIMESTAMPTZ '{start}' - interval '1 year' FROM r_circles;

CREATE TEMP TABLE r_members AS
SELECT s.*, CASE WHEN random() < 0.3 THEN s.joined_at + random() * (TIMESTAMPTZ '{end}' - s.joined_at) END AS ended_at
  FROM (SELECT gen_random_uuid() AS user_id, gen_random_uuid() AS membership_id, c.id AS circle_id, g.n,
               TIMESTAMPTZ '{start}' - interval '6 months' + random() * interval '18 months' AS joined_at
          FROM generate_series(0, 4999) g(n) JOIN r_circles c ON c.n = g.n % 500 + 1) s;
INSERT INTO circles.profiles (user_id, display_name) SELECT user_id, 'Report member ' || n FROM r_members;
INSERT INTO circles.memberships (id, circle_id, user_id, role, status, joined_at, ended_at, end_reason, created_at)
SELECT membership_id, circle_id, user_id, 'member', CASE WHEN ended_at IS NULL THEN 'active' ELSE 'ended' END,
       joined_at, ended_at, CASE WHEN ended_at IS NOT NULL THEN 'left' END, joined_at FROM r_members;

CREATE TEMP TABLE r_meetings AS
SELECT gen_random_uuid() AS id, c.id AS circle_id, TIMESTAMPTZ '{start}' + k * interval '87 hours' + interval '19 hours'
       AS starts_at, CASE WHEN random() < 0.03 THEN 'cancelled' ELSE 'scheduled' END AS status
  FROM r_circles c, generate_series(0, 99) k;
INSERT INTO circles.meetings (id, circle_id, starts_at, duration_minutes, status, created_by)
SELECT id, circle_id, starts_at, 90, status, gen_random_uuid() FROM r_meetings;
INSERT INTO circles.attendance (meeting_id, user_id, circle_id, membership_id, status, recorded_by)
SELECT m.id, b.user_id, m.circle_id, b.membership_id,
       (ARRAY['present', 'present', 'present', 'late', 'excused', 'absent'])[1 + floor(random() * 6)::int],
       gen_random_uuid()
  FROM r_meetings m JOIN r_members b ON b.circle_id = m.circle_id AND b.joined_at < m.starts_at
   AND (b.ended_at IS NULL OR b.ended_at > m.starts_at)
 WHERE m.status = 'scheduled';
INSERT INTO circles.goals (id, circle_id, user_id, membership_id, title, period_start, period_end, done_at)
SELECT gen_random_uuid(), b.circle_id, b.user_id, b.membership_id, 'Quarterly goal',
       (TIMESTAMPTZ '{start}' + q * interval '3 months')::date,
       (TIMESTAMPTZ '{start}' + (q + 1) * interval '3 months' - interval '1 day')::date,
       CASE WHEN random() < 0.6 THEN TIMESTAMPTZ '{start}' + (q + 1) * interval '3 months' - interval '2 days' END
  FROM r_members b, generate_series(0, 3) q;

CREATE TEMP TABLE r_events AS
SELECT gen_random_uuid() AS id, n,
       TIMESTAMPTZ '{start}' + n * (interval '1 year' / 2000) + interval '10 hours' AS starts_at,
       10 + n % 41 AS capacity
  FROM generate_series(0, 1999) n;
INSERT INTO circles.events (id, type, title, description, starts_at, ends_at, timezone, online, capacity, price_amount,
       price_currency, visibility, status, seats_taken, confirmed_count, waitlist_count, created_by, published_at)
SELECT id, 'workshop', 'Report event ' || n, '', starts_at, starts_at + interval '3 hours', 'UTC', true, capacity, 2000,
       'EUR', 'public', CASE WHEN n % 33 = 0 THEN 'cancelled' ELSE 'completed' END, 0, 0, 0, gen_random_uuid(),
       starts_at - interval '60 days'
  FROM r_events;
-- Per event: the first 70% of its capacity confirmed at once; the next places went through the
-- waitlist (waitlisted_at), of which those up to 85% were promoted and confirmed, the rest gave up.
INSERT INTO circles.event_registrations (id, event_id, user_id, status, amount, currency, instalments, answers,
       confirmed_at, waitlisted_at, promoted_at, cancelled_at, created_at)
SELECT gen_random_uuid(), e.id, gen_random_uuid(),
       CASE WHEN r < e.capacity * 0.85 THEN 'confirmed' ELSE 'cancelled' END, 2000, 'EUR', 1, '{{}}',
       CASE WHEN r < e.capacity * 0.85 THEN e.starts_at - interval '10 days' END,
       CASE WHEN r >= e.capacity * 0.7 THEN e.starts_at - interval '20 days' END,
       CASE WHEN r >= e.capacity * 0.7 AND r < e.capacity * 0.85 THEN e.starts_at - interval '10 days' END,
       CASE WHEN r >= e.capacity * 0.85 THEN e.starts_at - interval '5 days' END,
       e.starts_at - interval '30 days'
  FROM r_events e, LATERAL generate_series(0, e.capacity - 1) r;

CREATE TEMP TABLE r_dues AS
SELECT gen_random_uuid() AS id, b.*, CASE WHEN b.n % 5 = 0 THEN 'GBP' ELSE 'EUR' END AS currency FROM r_members b;
INSERT INTO payments.obligations (id, user_id, kind, source_id, context_id, amount, currency, interval, status,
       amount_due, created_at)
SELECT id, user_id, 'membership', membership_id, circle_id, 2500, currency, 'month', 'settled', 0, joined_at
  FROM r_dues;
CREATE TEMP TABLE r_invoices AS
SELECT gen_random_uuid() AS id, d.id AS obligation_id, d.user_id, d.currency, d.n, m.k, m.due_at, random() AS luck
  FROM r_dues d,
       LATERAL (SELECT k, TIMESTAMPTZ '{start}' + k * interval '1 month' + (d.n % 28) * interval '1 day'
                          + interval '6 hours' AS due_at
                  FROM generate_series(0, 11) k) m
 WHERE d.joined_at < m.due_at AND (d.ended_at IS NULL OR d.ended_at > m.due_at);
INSERT INTO payments.invoices (id, obligation_id, stripe_invoice_id, status, amount_due, currency, period_start,
       period_end, paid_at, created_at)
SELECT id, obligation_id, 'in_report_' || id, CASE WHEN luck < 0.92 THEN 'paid' WHEN luck < 0.97 THEN 'open'
       ELSE 'uncollectible' END, 2500, currency, due_at, due_at + interval '1 month',
       CASE WHEN luck < 0.80 THEN due_at + interval '1 hour' WHEN luck < 0.92 THEN due_at + interval '3 days' END,
       due_at
  FROM r_invoices;
INSERT INTO payments.payments (id, obligation_id, user_id, source, method, amount, currency, paid_at, created_at)
SELECT gen_random_uuid(), obligation_id, user_id, 'stripe', 'card', 2500, currency,
       due_at + CASE WHEN luck < 0.80 THEN interval '1 hour' ELSE interval '3 days' END, due_at
  FROM r_invoices WHERE luck < 0.92;

CREATE TEMP TABLE r_paid_registrations AS
SELECT gen_random_uuid() AS obligation_id, r.id AS registration_id, r.event_id, r.user_id, r.confirmed_at
  FROM circles.event_registrations r JOIN r_events e ON e.id = r.event_id
 WHERE r.status = 'confirmed'
 LIMIT GREATEST(0, {payments_total} - (SELECT count(*) FROM r_invoices WHERE luck < 0.92));
INSERT INTO payments.obligations (id, user_id, kind, source_id, context_id, amount, currency, status, amount_due,
       created_at)
SELECT obligation_id, user_id, 'registration', registration_id, event_id, 2000, 'EUR', 'settled', 0, confirmed_at
  FROM r_paid_registrations;
CREATE TEMP TABLE r_registration_payments AS
SELECT gen_random_uuid() AS id, p.*, row_number() OVER () AS k FROM r_paid_registrations p;
INSERT INTO payments.payments (id, obligation_id, user_id, source, method, amount, currency, amount_refunded, paid_at,
       created_at)
SELECT id, obligation_id, user_id, 'stripe', 'card', 2000, 'EUR', CASE WHEN k % 10 = 0 THEN 2000 ELSE 0 END,
       confirmed_at, confirmed_at
  FROM r_registration_payments;
INSERT INTO payments.refunds (id, payment_id, obligation_id, user_id, amount, currency, status, origin, reason,
       requested_by, succeeded_at, created_at)
SELECT gen_random_uuid(), id, obligation_id, user_id, 2000, 'EUR', 'succeeded', 'registration_cancelled', 'bench',
       'system', confirmed_at + interval '2 days', confirmed_at + interval '1 day'
  FROM r_registration_payments WHERE k % 10 = 0;
ANALYZE circles.circles, circles.memberships, circles.meetings, circles.attendance, circles.goals, circles.events,
        circles.event_registrations, payments.obligations, payments.invoices, payments.payments, payments.refunds;
"""

COUNTS = {
    "circles": "SELECT count(*) FROM r_circles",
    "members": "SELECT count(*) FROM r_members",
    "meetings": "SELECT count(*) FROM r_meetings",
    "attendance records": "SELECT count(*) FROM circles.attendance a JOIN r_meetings m ON m.id = a.meeting_id",
    "goals": "SELECT count(*) FROM circles.goals g JOIN r_members b ON b.membership_id = g.membership_id",
    "events": "SELECT count(*) FROM r_events",
    "registrations": "SELECT count(*) FROM circles.event_registrations r JOIN r_events e ON e.id = r.event_id",
    "dues invoices": "SELECT count(*) FROM r_invoices",
    "payments": "SELECT (SELECT count(*) FROM r_invoices WHERE luck < 0.92)"
    " + (SELECT count(*) FROM r_registration_payments)",
    "refunds": "SELECT count(*) FROM r_registration_payments WHERE k % 10 = 0",
}


def _year(years_back: int = 3) -> tuple[date, date]:
    """Twelve whole months, ending `years_back` years before the first day of the current month."""
    first = datetime.now(UTC).date().replace(day=1)
    end = first.replace(year=first.year - years_back)
    return end.replace(year=end.year - 1), end


async def _seed_and_refresh(ctx: BenchContext, start: date, end: date) -> tuple[dict, dict, float]:
    conn = await ctx.main_db()
    try:
        started = time.perf_counter()
        async with conn.transaction():
            await conn.execute(SEED.format(start=start.isoformat(), end=end.isoformat(), payments_total=PAYMENTS_TOTAL))
            counts = {name: await conn.fetchval(query) for name, query in COUNTS.items()}
        seconds = time.perf_counter() - started
        refresh: dict[str, float] = {}
        for schema, views in VIEWS.items():
            for view in views:
                began = time.perf_counter()
                await conn.execute(f"REFRESH MATERIALIZED VIEW CONCURRENTLY {schema}.{view}")
                await conn.execute(
                    f"INSERT INTO {schema}.report_refreshes (view, refreshed_at) VALUES ($1, clock_timestamp()) "
                    "ON CONFLICT (view) DO UPDATE SET refreshed_at = excluded.refreshed_at",
                    view,
                )
                refresh[f"{schema}.{view}"] = round(time.perf_counter() - began, 2)
        return counts, refresh, seconds
    finally:
        await conn.close()


async def _measure(ctx: BenchContext, token: str, name: str, query: str, duration: float):
    url = f"{ctx.gateway}/api/v1/reports/{name}?{query}"
    headers = {"Authorization": f"Bearer {token}"}
    sizes: list[int] = []

    def on_response(request: Request, status: int, body: bytes) -> None:
        if status == 200 and len(sizes) < 1:
            sizes.append(len(body))

    def forever():
        while True:
            yield Request("GET", url, headers)

    await closed_loop((Request("GET", url, headers) for _ in range(3)), concurrency=1)  # warm-up
    load = await closed_loop(forever(), concurrency=CONCURRENCY, duration=duration, on_response=on_response)
    return load, (sizes[0] if sizes else None)


def run(ctx: BenchContext, result: ScenarioResult) -> None:
    ctx.require_ready("gateway", "circles", "payments")
    ctx.require_route("circles", "GET", "/api/v1/reports/retention")
    ctx.require_route("payments", "GET", "/api/v1/reports/revenue")
    start, end = _year()
    counts, refresh, seed_seconds = asyncio.run(_seed_and_refresh(ctx, start, end))
    tokens = asyncio.run(login_all(ctx.gateway, [ADMIN_EMAIL], ADMIN_PASSWORD))
    if not tokens:
        raise NotAvailable("the admin could not sign in")
    token = next(iter(tokens.values()))
    duration = ctx.scale(6, 2)
    query = f"from={start.isoformat()}&to={end.isoformat()}"
    result.details.update(year=query, seeded=counts, refresh_seconds=refresh)
    result.method = (
        f"Seeded with generate_series in one transaction ({seed_seconds:.1f} s): "
        + ", ".join(f"{v:,} {k}" for k, v in counts.items())
        + f" for {start:%Y-%m} to {end:%Y-%m} (exclusive), on top of the benchmark's data set. Views refreshed with "
        "REFRESH MATERIALIZED VIEW CONCURRENTLY (timed each). Each report for that year, JSON, signed in as the "
        f"admin, through the gateway: 3 warm-up requests, then {CONCURRENCY} concurrent clients for {duration:.0f} s."
    )
    result.load_generator = f"aiohttp closed loop, {CONCURRENCY} concurrent, per report"
    result.add("seed_seconds", "Seeding the year (SQL)", round(seed_seconds, 1), "s", ABSOLUTE)
    result.add("refresh_seconds", "Refreshing all report views", round(sum(refresh.values()), 2), "s", ABSOLUTE,
               note=", ".join(f"{k} {v} s" for k, v in refresh.items()))  # fmt: skip
    for name in REPORTS:
        load, size = asyncio.run(_measure(ctx, token, name, query, duration))
        result.details[f"load.{name}"] = load.summary()
        result.add(
            f"{name}.p95",
            f"Report `{name}` p95 ({CONCURRENCY} concurrent)",
            load.p95_ms,
            "ms",
            ABSOLUTE,
            target=Target("<=", P95_TARGET_MS),
            note=f"p50 {load.p50_ms} ms, {round(load.rate, 1)} req/s, answer {size or 0:,} bytes",
        )
        result.add(f"{name}.bad", f"Report `{name}`: non-2xx answers", load.bad(), "", COUNT, target=Target("==", 0))
    recent_start, recent_end = _year(0)
    recent = f"from={recent_start.isoformat()}&to={recent_end.isoformat()}"
    load, size = asyncio.run(_measure(ctx, token, "retention", recent, duration))
    result.details["load.retention_recent"] = load.summary()
    result.add(
        "retention_recent.p95",
        "Report `retention` over the last 12 months, with the benchmark's 10,000 other circles",
        load.p95_ms,
        "ms",
        ABSOLUTE,
        note=f"p50 {load.p50_ms} ms, answer {size or 0:,} bytes; informational (no target)",
    )
    json.dumps(result.details)  # the details must stay serialisable for benchmarks.json
