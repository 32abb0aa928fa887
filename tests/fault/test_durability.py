"""Acknowledged means durable: every kind of write the platform answers 2xx survives a crash of
PostgreSQL that happens right after the answer.

The fault platform's PostgreSQL runs with `make run`'s settings (fsync, synchronous_commit and
full_page_writes on). Each test first prepares what the writes need (members, a free and a paid
event, a support-visible obligation), then sends five writes at once: a circle created, a member
joining a circle, an event registration, a Stripe webhook stored, an offline payment recorded by
support. As soon as all five are answered, PostgreSQL is crashed (`pg_ctl stop -m immediate`, or
SIGKILL of the postmaster), started again, and SQL must find every acknowledged object.

With fsync/synchronous_commit off these tests fail: commits are answered while their WAL is
still in PostgreSQL's memory, which the crash discards.
"""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from faultkit import (
    USER_PASSWORD,
    admin_token,
    circle_body,
    crash_postgres,
    new_email,
    stripe_event_body,
    stripe_signature,
    wait_until,
)

from mcm_devstack.engines import DURABLE_SETTINGS
from mcm_devstack.platform import MAIN_DATABASE, Platform

PREPARE_TIMEOUT = 20.0  # seconds for an event to travel circles → bus → payments


class Api:
    def __init__(self, platform: Platform) -> None:
        self.base = platform.url("gateway")
        self.admin = {"Authorization": f"Bearer {admin_token(platform)}"}

    def send(self, method: str, path: str, *, expect: int, headers: dict | None = None, **kwargs) -> dict:
        with httpx.Client(timeout=15) as client:
            response = client.request(method, self.base + path, headers=headers or self.admin, **kwargs)
        assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text[:300]}"
        return response.json() if response.content else {}

    def member(self, name: str) -> tuple[str, dict]:
        email = new_email(name)
        self.send(
            "POST",
            "/api/v1/auth/register",
            expect=201,
            headers={},
            json={"email": email, "password": USER_PASSWORD, "display_name": name},
        )
        token = self.send(
            "POST", "/api/v1/auth/login", expect=200, headers={}, json={"email": email, "password": USER_PASSWORD}
        )["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        return self.send("GET", "/api/v1/auth/me", expect=200, headers=auth)["id"], auth

    def published_event(self, price: int) -> str:
        starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
        event = self.send(
            "POST",
            "/api/v1/events",
            expect=201,
            json={
                "type": "workshop",
                "title": f"Durable workshop {uuid.uuid4().hex[:6]}",
                "timezone": "Europe/Berlin",
                "location": {"city": "Berlin"},
                "capacity": 8,
                "starts_at": starts.isoformat(),
                "ends_at": (starts + timedelta(hours=3)).isoformat(),
                "price": {"amount": price, "currency": "EUR"},
            },
        )
        self.send("POST", f"/api/v1/events/{event['id']}/publish", expect=200)
        return event["id"]


def _prepare(api: Api) -> dict:
    """What the acknowledged writes need, made (and committed) well before the crash."""
    joiner_id, joiner = api.member("Joiner")
    registrant_id, registrant = api.member("Registrant")
    _payer_id, payer = api.member("Payer")
    circle = api.send("POST", "/api/v1/circles", expect=201, json=circle_body())
    free_event = api.published_event(price=0)
    paid_event = api.published_event(price=4000)
    api.send("POST", f"/api/v1/events/{paid_event}/registrations", expect=201, headers=payer, json={})
    # registration.payment_required → payments opens an obligation support can settle in cash.
    obligations: list[dict] = []

    def opened() -> bool:
        obligations[:] = api.send("GET", "/api/v1/payments/obligations", expect=200, headers=payer)["items"]
        return bool(obligations)

    assert wait_until(opened, timeout=PREPARE_TIMEOUT, interval=0.2), (
        "payments never opened the registration's obligation"
    )
    return {
        "joiner_id": joiner_id,
        "joiner": joiner,
        "registrant_id": registrant_id,
        "registrant": registrant,
        "circle_id": circle["id"],
        "free_event": free_event,
        "obligation_id": obligations[0]["id"],
    }


def _acknowledged_writes(api: Api, ready: dict) -> dict:
    """The five writes, sent at once so all their commits are as close to the crash as possible."""
    webhook = stripe_event_body()
    webhook_id = json.loads(webhook)["id"]
    writes = {
        "circle": lambda: api.send("POST", "/api/v1/circles", expect=201, json=circle_body())["id"],
        "membership": lambda: api.send(
            "POST", f"/api/v1/circles/{ready['circle_id']}/join", expect=201, headers=ready["joiner"]
        )["user_id"],
        "registration": lambda: api.send(
            "POST",
            f"/api/v1/events/{ready['free_event']}/registrations",
            expect=201,
            headers=ready["registrant"],
            json={},
        )["id"],
        "webhook": lambda: (
            api.send(
                "POST",
                "/api/v1/payments/webhooks/stripe",
                expect=200,
                content=webhook,
                headers={"Content-Type": "application/json", "Stripe-Signature": stripe_signature(webhook)},
            )
            and webhook_id
        ),
        "offline_payment": lambda: api.send(
            "POST",
            f"/api/v1/payments/obligations/{ready['obligation_id']}/offline-payment",
            expect=201,
            headers={**api.admin, "Idempotency-Key": str(uuid.uuid4())},
            json={"amount": 4000, "method": "cash", "note": "paid at the door"},
        )["payment"]["id"],
    }
    with ThreadPoolExecutor(len(writes)) as pool:
        futures = {kind: pool.submit(write) for kind, write in writes.items()}
        return {kind: future.result() for kind, future in futures.items()}


def _found(platform: Platform, ready: dict, acknowledged: dict) -> dict[str, bool]:
    """Which acknowledged objects SQL finds after the restart."""
    assert platform.postgres is not None
    checks = {
        "circle": f"SELECT count(*) FROM circles.circles WHERE id = '{acknowledged['circle']}'",
        "membership": f"SELECT count(*) FROM circles.memberships WHERE circle_id = '{ready['circle_id']}' "
        f"AND user_id = '{ready['joiner_id']}' AND status = 'active'",
        "registration": f"SELECT count(*) FROM circles.event_registrations WHERE id = '{acknowledged['registration']}' "
        "AND status = 'confirmed'",
        "webhook": f"SELECT count(*) FROM payments.webhook_events WHERE stripe_event_id = '{acknowledged['webhook']}'",
        "offline_payment": "SELECT count(*) FROM payments.payments p "
        "JOIN payments.obligations o ON o.id = p.obligation_id "
        f"WHERE p.id = '{acknowledged['offline_payment']}' AND o.status = 'settled'",
    }
    return {kind: platform.postgres.psql(sql, database=MAIN_DATABASE).strip() == "1" for kind, sql in checks.items()}


@pytest.mark.parametrize("how", ["immediate", "sigkill"])
def test_every_acknowledged_write_survives_a_postgres_crash_right_after_its_answer(platform: Platform, how: str):
    assert platform.postgres is not None
    assert platform.postgres.current_settings() == DURABLE_SETTINGS, "make run's PostgreSQL must be durable"
    api = Api(platform)
    ready = _prepare(api)

    acknowledged = _acknowledged_writes(api, ready)
    crash_postgres(platform, how)
    platform.postgres.start()

    found = _found(platform, ready, acknowledged)
    lost = {kind: acknowledged[kind] for kind, there in found.items() if not there}
    assert not lost, f"acknowledged, then lost in a {how} crash: {lost}"
