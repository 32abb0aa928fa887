"""Obligations from circles' events, stored locally, visible to their owner (and staff)."""

from __future__ import annotations

import asyncio
import uuid

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from mcm_payments.config import Settings
from mcm_payments.db import VERSION_TABLE
from mcm_payments.history.service import HISTORY_SORT
from mcm_payments.models import metadata
from mcm_payments.obligations.service import MINE_SORT
from mcm_shared.db import to_async_url
from mcm_shared.pagination import encode_cursor, make_cursor, parse_datetime, read_cursor
from mcm_shared.settings import ConfigurationError


async def test_payment_required_events_create_obligations_once(harness):
    user = uuid.uuid4()
    membership_id, circle_id = uuid.uuid4(), uuid.uuid4()
    payload = {
        "membership_id": membership_id,
        "circle_id": circle_id,
        "user_id": user,
        "amount": 2000,
        "currency": "gbp",
        "interval": "month",
    }
    envelope = await harness.from_circles("membership.payment_required", payload)
    await harness.from_circles("membership.payment_required", payload)  # a new event for the same membership
    await harness.redis.xadd(harness.streams.consume[0], envelope.to_fields())  # the same event delivered twice
    obligation = await harness.obligation_of(user, membership_id)
    await asyncio.sleep(1.0)
    assert len(await harness.sql("SELECT * FROM payments.obligations")) == 1
    assert obligation["kind"] == "membership" and obligation["circle_id"] == str(circle_id)
    assert obligation["amount"] == {"amount": 2000, "currency": "GBP"} and obligation["status"] == "pending"


async def test_a_bad_payload_creates_nothing(harness):
    user = uuid.uuid4()
    await harness.from_circles(
        "registration.payment_required",
        {
            "registration_id": uuid.uuid4(),
            "event_id": uuid.uuid4(),
            "user_id": user,
            "amount": -5,
            "currency": "EUR",
            "instalments": 1,
        },
    )
    good = await harness.registration(user, amount=100)
    assert good["status"] == "pending"
    assert len(await harness.sql("SELECT * FROM payments.obligations")) == 1


async def test_members_see_only_their_own_obligations_and_staff_see_any(harness):
    alice, bob = uuid.uuid4(), uuid.uuid4()
    mine = await harness.dues(alice)
    await harness.registration(bob)
    listed = (await harness.http.get("/api/v1/payments/obligations", headers=harness.headers(alice))).json()
    assert [o["id"] for o in listed["items"]] == [mine["id"]] and listed["next_cursor"] is None
    assert (
        await harness.http.get(f"/api/v1/payments/obligations/{mine['id']}", headers=harness.headers(bob))
    ).status_code == 404
    assert (
        await harness.http.get(f"/api/v1/payments/obligations/{mine['id']}", headers=harness.headers(None, "support"))
    ).status_code == 200
    assert (await harness.http.get("/api/v1/payments/obligations")).status_code == 401


async def test_leadership_sees_money_only_in_aggregate_not_one_members_obligation(harness):
    mine = await harness.dues(uuid.uuid4())
    for role in ("leadership", "facilitator", "ptm"):
        response = await harness.http.get(
            f"/api/v1/payments/obligations/{mine['id']}", headers=harness.headers(uuid.uuid4(), role)
        )
        assert response.status_code == 404, role
    assert (
        await harness.http.get(
            f"/api/v1/payments/obligations/{mine['id']}", headers=harness.headers(uuid.uuid4(), "admin")
        )
    ).status_code == 200


async def test_lists_page_with_an_opaque_cursor(harness):
    user = uuid.uuid4()
    for _ in range(3):
        await harness.registration(user, amount=100)
    first = (await harness.http.get("/api/v1/payments/obligations?limit=2", headers=harness.headers(user))).json()
    second = (
        await harness.http.get(
            f"/api/v1/payments/obligations?limit=2&cursor={first['next_cursor']}", headers=harness.headers(user)
        )
    ).json()
    assert len(first["items"]) == 2 and len(second["items"]) == 1 and second["next_cursor"] is None
    assert not {o["id"] for o in first["items"]} & {o["id"] for o in second["items"]}
    bad = await harness.http.get("/api/v1/payments/obligations?cursor=garbage!", headers=harness.headers(user))
    assert bad.status_code == 422
    assert (
        await harness.http.get("/api/v1/payments/obligations?limit=500", headers=harness.headers(user))
    ).status_code == 422


async def test_cursors_of_the_old_format_and_of_other_lists_are_refused(harness):
    """Payments' lists use the platform's one cursor format (mcm_shared.pagination), which names
    the list: a cursor of the former `{t, id}` format, or one made by another list, is the
    "cursor is not valid" problem, never a page from an arbitrary position or a 500."""
    user = uuid.uuid4()
    for _ in range(2):
        await harness.registration(user, amount=100)
    first = (await harness.http.get("/api/v1/payments/obligations?limit=1", headers=harness.headers(user))).json()
    old = encode_cursor({"t": first["items"][0]["created_at"], "id": first["items"][0]["id"]})
    other_list = read_cursor(first["next_cursor"], MINE_SORT, parse_datetime)
    assert other_list is not None
    foreign = make_cursor(HISTORY_SORT, other_list[0], other_list[1])
    for cursor in (old, foreign):
        answer = await harness.http.get(f"/api/v1/payments/obligations?cursor={cursor}", headers=harness.headers(user))
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["errors"][0]["loc"] == ["query", "cursor"]
    # The list's own cursor still pages on.
    second = await harness.http.get(
        f"/api/v1/payments/obligations?limit=1&cursor={first['next_cursor']}", headers=harness.headers(user)
    )
    assert second.status_code == 200 and len(second.json()["items"]) == 1


async def test_the_migrations_build_exactly_the_models(harness):
    engine = create_async_engine(to_async_url(harness.database_url))
    async with engine.connect() as connection:

        def diff(sync):
            def ours(name, kind, parent):
                return name == "payments" if kind == "schema" else name != VERSION_TABLE

            context = MigrationContext.configure(sync, opts={"include_schemas": True, "include_name": ours})
            return compare_metadata(context, metadata)

        differences = await connection.run_sync(diff)
    await engine.dispose()
    assert differences == []


def test_production_refuses_development_stripe_settings():
    settings = Settings(
        environment="production",
        database_url="postgresql://db/x",
        redis_url="redis://r",
        service_client_secret="s3cret",
    )
    try:
        settings.check_production_ready()
    except ConfigurationError as exc:
        message = str(exc)
    else:
        raise AssertionError("production started with development Stripe settings")
    for name in (
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "STRIPE_API_BASE",
        "CHECKOUT_SUCCESS_URL",
        "CHECKOUT_CANCEL_URL",
        "PORTAL_RETURN_URL",
    ):
        assert name in message
    ready = Settings(
        environment="production",
        database_url="postgresql://db/x",
        redis_url="redis://r",
        service_client_secret="s3cret",
        stripe_secret_key="sk_live_real",
        stripe_webhook_secret="whsec_real",
        stripe_api_base="https://api.stripe.com",
        checkout_success_url="https://app.example/paid",
        checkout_cancel_url="https://app.example/cancelled",
        portal_return_url="https://app.example/payments",
    )
    ready.check_production_ready()
