"""Payments' reports (dues, revenue) against a small fixture computed by hand (docs/reports.md).

The period is January and February 2026; void invoices, failed refunds, registration invoices
and rows from March are in the fixture to prove they are left out. Three currencies prove money
is never summed across currencies.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime

import pytest

from mcm_payments.reports import service
from mcm_payments.reports.schemas import DuesReport, RevenueReport

PERIOD = {"from": "2026-01-01", "to": "2026-03-01"}
E1, E2 = uuid.UUID(int=1), uuid.UUID(int=2)


def ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


async def obligation(harness, kind: str, currency: str, amount: int, context: uuid.UUID | None = None) -> uuid.UUID:
    [row] = await harness.sql(
        """INSERT INTO payments.obligations (id, user_id, kind, source_id, context_id, amount, currency, amount_due)
           VALUES (gen_random_uuid(), gen_random_uuid(), $1, gen_random_uuid(), $2, $3, $4, $3) RETURNING id""",
        kind,
        context or uuid.uuid4(),
        amount,
        currency,
    )
    return row["id"]


async def invoice(harness, obligation_id, status: str, *, due: str | None, paid: str | None, created: str = "") -> None:
    await harness.sql(
        """INSERT INTO payments.invoices (id, obligation_id, stripe_invoice_id, status, amount_due, currency,
               period_start, paid_at, created_at)
           VALUES (gen_random_uuid(), $1, 'in_' || gen_random_uuid(), $2, 2500, 'EUR',
               $3, $4, coalesce($5, now()))""",
        obligation_id,
        status,
        ts(due),
        ts(paid),
        ts(created),
    )


async def payment(harness, obligation_id, amount: int, currency: str, paid: str, refunded: int = 0) -> uuid.UUID:
    [row] = await harness.sql(
        """INSERT INTO payments.payments (id, obligation_id, user_id, source, method, amount, currency,
               amount_refunded, paid_at)
           SELECT gen_random_uuid(), $1, user_id, 'stripe', 'card', $2, $3, $4, $5
             FROM payments.obligations WHERE id = $1 RETURNING id""",
        obligation_id,
        amount,
        currency,
        refunded,
        ts(paid),
    )
    return row["id"]


async def refund(harness, payment_id, amount: int, status: str, succeeded: str | None) -> None:
    await harness.sql(
        """INSERT INTO payments.refunds (id, payment_id, obligation_id, user_id, amount, currency, status, origin,
               reason, requested_by, succeeded_at)
           SELECT gen_random_uuid(), id, obligation_id, user_id, $2, currency, $3, 'staff', 'test', 'user:x', $4
             FROM payments.payments WHERE id = $1""",
        payment_id,
        amount,
        status,
        ts(succeeded),
    )


@pytest.fixture
async def fixture(harness):
    d1 = await obligation(harness, "membership", "EUR", 2500)
    d2 = await obligation(harness, "membership", "EUR", 2500)
    d3 = await obligation(harness, "membership", "GBP", 2000)
    r1 = await obligation(harness, "registration", "EUR", 8000, E1)
    r2 = await obligation(harness, "registration", "EUR", 8000, E1)
    r3 = await obligation(harness, "registration", "GBP", 5000, E2)
    r4 = await obligation(harness, "registration", "USD", 3000, E1)

    await invoice(harness, d1, "paid", due="2026-01-05T10:00Z", paid="2026-01-05T11:00Z")  # Jan, on time
    await invoice(harness, d1, "paid", due="2026-02-05T10:00Z", paid="2026-02-08T09:00Z")  # Feb, late
    await invoice(harness, d2, "paid", due="2026-01-20T08:00Z", paid="2026-01-20T23:59Z")  # Jan, on time
    await invoice(harness, d2, "open", due="2026-02-20T08:00Z", paid=None)  # Feb, unpaid
    await invoice(harness, d3, "paid", due=None, created="2026-02-10T07:00Z", paid="2026-02-10T07:05Z")  # Feb
    await invoice(harness, d3, "void", due="2026-01-25T08:00Z", paid=None)  # void: not due
    await invoice(harness, d3, "paid", due="2026-03-05T08:00Z", paid="2026-03-05T08:00Z")  # March
    await invoice(harness, r1, "open", due="2026-01-10T08:00Z", paid=None)  # an instalment, not dues

    await payment(harness, d1, 2500, "EUR", "2026-01-05T11:00Z")
    await payment(harness, d1, 2500, "EUR", "2026-02-08T09:00Z")
    p3 = await payment(harness, d2, 2500, "EUR", "2026-01-20T23:59Z", refunded=500)
    await payment(harness, d3, 2000, "GBP", "2026-02-10T07:05Z")
    p5 = await payment(harness, r1, 8000, "EUR", "2026-01-12T12:00Z", refunded=8000)
    p6 = await payment(harness, r2, 8000, "EUR", "2026-02-03T12:00Z")
    p7 = await payment(harness, r3, 5000, "GBP", "2026-01-30T12:00Z", refunded=1000)
    await payment(harness, r4, 3000, "USD", "2026-02-14T12:00Z")
    await payment(harness, d3, 2000, "GBP", "2026-03-05T08:00Z")
    await refund(harness, p5, 8000, "succeeded", "2026-02-02T12:00Z")
    await refund(harness, p7, 1000, "succeeded", "2026-01-31T12:00Z")
    await refund(harness, p6, 500, "failed", None)
    await refund(harness, p3, 500, "succeeded", "2026-03-02T12:00Z")

    await service.refresh_due_views(harness.app.state.runtime, force=True)
    return harness


def leader(harness) -> dict[str, str]:
    return harness.headers(uuid.uuid4(), "member", "leadership")


async def report(harness, name: str, **params: str) -> dict:
    response = await harness.http.get(f"/api/v1/reports/{name}", params={**PERIOD, **params}, headers=leader(harness))
    assert response.status_code == 200, response.text
    return response.json()


async def test_on_time_dues_rate_per_month(fixture) -> None:
    body = await report(fixture, "dues")
    assert (body["report"], body["from"], body["to"]) == ("dues", "2026-01-01", "2026-03-01")
    assert body["months"] == [
        {"month": "2026-01", "due": 2, "paid_on_time": 2, "paid_late": 0, "unpaid": 0, "on_time_rate": 1.0},
        {"month": "2026-02", "due": 3, "paid_on_time": 1, "paid_late": 1, "unpaid": 1, "on_time_rate": 0.3333},
    ]


async def test_revenue_per_month_and_event_never_mixes_currencies(fixture) -> None:
    body = await report(fixture, "revenue")
    assert body["months"] == [
        {"month": "2026-01", "currency": "EUR", "collected": 13000, "payments": 3, "refunded": 0, "refunds": 0,
         "net": 13000},
        {"month": "2026-01", "currency": "GBP", "collected": 5000, "payments": 1, "refunded": 1000, "refunds": 1,
         "net": 4000},
        {"month": "2026-02", "currency": "EUR", "collected": 10500, "payments": 2, "refunded": 8000, "refunds": 1,
         "net": 2500},
        {"month": "2026-02", "currency": "GBP", "collected": 2000, "payments": 1, "refunded": 0, "refunds": 0,
         "net": 2000},
        {"month": "2026-02", "currency": "USD", "collected": 3000, "payments": 1, "refunded": 0, "refunds": 0,
         "net": 3000},
    ]  # fmt: skip
    assert body["events"] == [
        {"event_id": str(E1), "currency": "EUR", "collected": 16000, "payments": 2, "refunded": 8000, "refunds": 1,
         "net": 8000},
        {"event_id": str(E1), "currency": "USD", "collected": 3000, "payments": 1, "refunded": 0, "refunds": 0,
         "net": 3000},
        {"event_id": str(E2), "currency": "GBP", "collected": 5000, "payments": 1, "refunded": 1000, "refunds": 1,
         "net": 4000},
    ]  # fmt: skip


async def test_period_filtering(fixture) -> None:
    body = await report(fixture, "revenue", **{"from": "2026-02-01", "to": "2026-02-28"})
    assert (body["from"], body["to"]) == ("2026-02-01", "2026-03-01")
    assert {row["month"] for row in body["months"]} == {"2026-02"}
    assert [(row["event_id"], row["currency"], row["net"]) for row in body["events"]] == [
        (str(E1), "EUR", 0),  # paid 8000 in February, the January payment refunded in February
        (str(E1), "USD", 3000),
    ]
    march = await report(fixture, "dues", **{"from": "2026-03-01", "to": "2026-04-01"})
    assert march["months"] == [
        {"month": "2026-03", "due": 1, "paid_on_time": 1, "paid_late": 0, "unpaid": 0, "on_time_rate": 1.0}
    ]


async def test_freshness_and_refresh(fixture) -> None:
    body = await report(fixture, "revenue")
    assert body["freshness"]["refreshed_at"] is not None
    assert body["freshness"]["refresh_interval_seconds"] == 900
    await payment(fixture, await obligation(fixture, "membership", "EUR", 100), 100, "EUR", "2026-01-03T00:00Z")
    assert (await report(fixture, "revenue"))["months"][0]["collected"] == 13000  # until the next refresh
    await service.refresh_due_views(fixture.app.state.runtime, force=True)
    assert (await report(fixture, "revenue"))["months"][0]["collected"] == 13100


async def test_revenue_as_csv(fixture) -> None:
    headers = {**leader(fixture), "Accept": "text/csv"}
    response = await fixture.http.get("/api/v1/reports/revenue", params={**PERIOD, "table": "events"}, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="revenue-events-2026-01-01-2026-03-01.csv"' in response.headers["content-disposition"]
    lines = response.text.split("\r\n")
    assert lines[0] == "event_id,currency,collected,payments,refunded,refunds,net"
    assert lines[1] == f"{E1},EUR,16000,2,8000,1,8000"
    assert lines[-1] == ""  # every record ends with CRLF
    dues = await fixture.http.get("/api/v1/reports/dues", params=PERIOD, headers=headers)
    rows = list(csv.DictReader(io.StringIO(dues.text)))
    assert rows[1]["on_time_rate"] == "0.3333"


async def test_dues_before_the_first_refresh_state_no_freshness(harness) -> None:
    await harness.execute("TRUNCATE payments.report_refreshes")
    body = await report(harness, "dues")
    assert body["freshness"]["refreshed_at"] is None and body["freshness"]["stale_after"] is None


@pytest.mark.parametrize("name", ["dues", "revenue"])
async def test_only_leadership_and_admin_read_reports(harness, name: str) -> None:
    for roles, status in (
        (("member",), 403),
        (("member", "facilitator"), 403),
        (("member", "ptm"), 403),
        (("member", "support"), 403),
        (("member", "leadership"), 200),
        (("member", "admin"), 200),
    ):
        response = await harness.http.get(f"/api/v1/reports/{name}", headers=harness.headers(uuid.uuid4(), *roles))
        assert response.status_code == status, roles
    assert (await harness.http.get(f"/api/v1/reports/{name}")).status_code == 401


@pytest.mark.parametrize(("name", "model"), [("dues", DuesReport), ("revenue", RevenueReport)])
async def test_the_json_the_database_renders_is_what_openapi_documents(fixture, name, model) -> None:
    body = await report(fixture, name)
    assert model.model_validate(body).model_dump(mode="json", by_alias=True) == body  # nothing missing or extra
