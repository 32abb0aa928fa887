"""Payments test harness: real PostgreSQL (a fresh database per test, cloned from one migrated
template), real Redis (streams unique to the test), the Stripe stand-in and the payments app
each served by uvicorn on a free 127.0.0.1 port, so webhooks really travel over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn

from mcm_devstack.engines import free_port
from mcm_payments.bus import Streams
from mcm_payments.config import DEV_STRIPE_WEBHOOK_SECRET, Settings
from mcm_payments.db import MIGRATIONS_DIR, SCHEMA, VERSION_TABLE
from mcm_payments.main import create_app
from mcm_shared.events import Envelope
from mcm_shared.redis import make_redis
from mcm_stripe_standin import StandInConfig, create_standin_app
from mcm_stripe_standin.webhooks import sign
from mcm_testing.issuer import TestIssuer

WEBHOOK_PATH = "/api/v1/payments/webhooks/stripe"


class Served:
    """An ASGI app served by uvicorn on a free port inside the test's event loop."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.app = app
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on", access_log=False)
        )
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> Served:
        self.server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self.task = asyncio.create_task(self.server.serve())
        deadline = time.monotonic() + 20
        while not self.server.started:
            if self.task.done():
                self.task.result()
            if time.monotonic() > deadline:
                raise TimeoutError("server did not start")
            await asyncio.sleep(0.01)
        return self

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task:
            await asyncio.wait_for(self.task, 20)


class _Form(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.buttons: list[tuple[str, str]] = []
        self.cards: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form":
            self.action = values.get("action")
        elif tag == "button":
            self.buttons.append((values.get("name") or "", values.get("value") or ""))
        elif tag == "input" and values.get("name") == "card":
            self.cards.append(values.get("value") or "")


class Harness:
    def __init__(
        self, *, payments: Served, standin: Served, database_url: str, redis: Any, streams: Streams, issuer: TestIssuer
    ) -> None:
        self.payments, self.standin = payments, standin
        self.app = payments.app
        self.database_url = database_url
        self.redis = redis
        self.streams = streams
        self.issuer = issuer
        self.http = httpx.AsyncClient(base_url=payments.url, timeout=30)
        self.stripe = httpx.AsyncClient(base_url=standin.url, timeout=30)
        self.secret = DEV_STRIPE_WEBHOOK_SECRET

    # -- identities ----------------------------------------------------------------------------
    def headers(self, user_id: uuid.UUID | None = None, *roles: str, **extra: str) -> dict[str, str]:
        return {**self.issuer.headers(user_id or uuid.uuid4(), roles=roles or ("member",)), **extra}

    # -- database ------------------------------------------------------------------------------
    async def sql(self, query: str, *args: Any) -> list[asyncpg.Record]:
        connection = await asyncpg.connect(self.database_url)
        try:
            return await connection.fetch(query, *args)
        finally:
            await connection.close()

    async def execute(self, script: str) -> None:
        connection = await asyncpg.connect(self.database_url)
        try:
            await connection.execute(script)
        finally:
            await connection.close()

    async def wait_for(
        self,
        probe: Callable[[], Awaitable[Any]],
        timeout: float = 15.0,  # noqa: ASYNC109 (a polling deadline, not a cancellation scope)
        what: str = "condition",
    ) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = await probe()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.05)

    # -- events --------------------------------------------------------------------------------
    async def from_circles(self, event_type: str, payload: dict[str, Any]) -> Envelope:
        envelope = Envelope(
            id=uuid.uuid4(),
            type=event_type,
            occurred_at=datetime.now(UTC),
            producer="circles",
            payload=json.loads(json.dumps(payload, default=str)),
        )
        await self.redis.xadd(self.streams.consume[0], envelope.to_fields())
        return envelope

    async def from_auth(self, event_type: str, payload: dict[str, Any]) -> Envelope:
        envelope = Envelope(
            id=uuid.uuid4(),
            type=event_type,
            occurred_at=datetime.now(UTC),
            producer="auth",
            payload=json.loads(json.dumps(payload, default=str)),
        )
        await self.redis.xadd(self.streams.consume[1], envelope.to_fields())
        return envelope

    async def published(self, event_type: str | None = None) -> list[dict[str, Any]]:
        entries = await self.redis.xrange(self.streams.publish)
        envelopes = [Envelope.from_fields(fields) for _, fields in entries]
        return [{"type": e.type, **e.payload} for e in envelopes if event_type is None or e.type == event_type]

    async def wait_published(self, event_type: str, count: int = 1, **match: Any) -> list[dict[str, Any]]:
        async def probe() -> list[dict[str, Any]] | None:
            found = [e for e in await self.published(event_type) if all(e.get(k) == v for k, v in match.items())]
            return found if len(found) >= count else None

        return await self.wait_for(probe, what=f"{count} x {event_type} {match}")

    async def dues(self, user_id: uuid.UUID, amount: int = 2500, currency: str = "EUR") -> dict[str, Any]:
        membership_id = uuid.uuid4()
        await self.from_circles(
            "membership.payment_required",
            {
                "membership_id": membership_id,
                "circle_id": uuid.uuid4(),
                "user_id": user_id,
                "amount": amount,
                "currency": currency,
                "interval": "month",
            },
        )
        return await self.obligation_of(user_id, membership_id)

    async def registration(
        self, user_id: uuid.UUID, *, amount: int = 12000, instalments: int = 1, event_id: uuid.UUID | None = None
    ) -> dict[str, Any]:
        registration_id = uuid.uuid4()
        await self.from_circles(
            "registration.payment_required",
            {
                "registration_id": registration_id,
                "event_id": event_id or uuid.uuid4(),
                "user_id": user_id,
                "amount": amount,
                "currency": "EUR",
                "instalments": instalments,
            },
        )
        return await self.obligation_of(user_id, registration_id)

    async def obligation_of(self, user_id: uuid.UUID, source_id: uuid.UUID) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            body = (await self.http.get("/api/v1/payments/obligations", headers=self.headers(user_id))).json()
            return next(
                (o for o in body["items"] if str(source_id) in (o["membership_id"], o["registration_id"])), None
            )

        return await self.wait_for(probe, what="the obligation to be created")

    async def obligation(self, obligation_id: str, user_id: uuid.UUID | None = None) -> dict[str, Any]:
        headers = self.headers(user_id) if user_id else self.headers(None, "support")
        response = await self.http.get(f"/api/v1/payments/obligations/{obligation_id}", headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    async def wait_status(self, obligation_id: str, status: str, timeout: float = 15.0) -> dict[str, Any]:  # noqa: ASYNC109
        async def probe() -> dict[str, Any] | None:
            body = await self.obligation(obligation_id)
            return body if body["status"] == status else None

        return await self.wait_for(probe, timeout, what=f"obligation {obligation_id} to be {status}")

    # -- Stripe stand-in -----------------------------------------------------------------------
    async def checkout(self, user_id: uuid.UUID, obligation_id: str, **headers: str) -> httpx.Response:
        return await self.http.post(
            "/api/v1/payments/checkout", json={"obligation_id": obligation_id}, headers=self.headers(user_id, **headers)
        )

    async def pay_hosted_page(self, url: str, *, card: str = "4242424242424242", action: str = "pay") -> httpx.Response:
        """Drive the hosted checkout (or invoice) page the way a browser does: GET, then submit."""
        async with httpx.AsyncClient(timeout=30) as browser:
            page = await browser.get(url)
            assert page.status_code == 200, page.text
            form = _Form()
            form.feed(page.text)
            assert form.action and ("action", action) in form.buttons and card in form.cards, page.text
            return await browser.post(str(page.url.join(form.action)), data={"action": action, "card": card})

    async def settle_webhooks(self) -> None:
        """Every event the stand-in has sent so far was delivered and processed."""
        flushed = (await self.stripe.post("/_standin/webhooks/flush", json={"timeout": 15})).json()
        assert flushed["idle"]
        await self.inbox_processed()

    async def processed(self, event_id: str, timeout: float = 15.0) -> dict[str, Any]:  # noqa: ASYNC109
        """The inbox row of a Stripe event once processed (webhooks are processed after the 200)."""

        async def probe() -> dict[str, Any] | None:
            rows = await self.sql(
                "SELECT * FROM payments.webhook_events WHERE stripe_event_id = $1 AND processed_at IS NOT NULL",
                event_id,
            )
            return dict(rows[0]) if rows else None

        return await self.wait_for(probe, timeout, what=f"webhook {event_id} to be processed")

    async def inbox_processed(self) -> None:
        """Every stored webhook event was processed."""

        async def probe() -> bool:
            rows = await self.sql("SELECT count(*) AS n FROM payments.webhook_events WHERE processed_at IS NULL")
            return rows[0]["n"] == 0

        await self.wait_for(probe, what="webhooks to be processed")

    @contextlib.asynccontextmanager
    async def captured(self) -> AsyncIterator[None]:
        """The stand-in keeps its events instead of sending them (tests deliver them by hand)."""
        url = (await self.stripe.get("/_standin/config")).json()["webhook_url"]
        await self.settle_webhooks()
        await self.stripe.put("/_standin/config", json={"webhook_url": None})
        try:
            yield
        finally:
            await self.stripe.put("/_standin/config", json={"webhook_url": url})

    async def event(self, event_id: str) -> dict[str, Any]:
        return (await self.stripe.get(f"/_standin/events/{event_id}")).json()

    async def events_of(self, event_type: str, object_id: str | None = None) -> list[dict[str, Any]]:
        found = [await self.event(e["id"]) for e in await self.standin_events(event_type)]
        return [e for e in found if object_id is None or e["data"]["object"]["id"] == object_id]

    async def standin_events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        params = {"type": event_type} if event_type else {}
        return (await self.stripe.get("/_standin/events", params=params)).json()["data"]

    async def stripe_object(self, object_id: str) -> dict[str, Any]:
        kind = {
            "sub": "subscriptions",
            "in": "invoices",
            "pi": "payment_intents",
            "re": "refunds",
            "cus": "customers",
            "ch": "charges",
        }[object_id.split("_")[0]]
        return (await self.stripe.get(f"/v1/{kind}/{object_id}", headers={"Authorization": "Bearer sk_test_x"})).json()

    async def send_webhook(
        self,
        event: dict[str, Any],
        *,
        secret: str | None = None,
        timestamp: int | None = None,
        body: bytes | None = None,
        signature: str | None = None,
    ) -> httpx.Response:
        raw = body if body is not None else json.dumps(event).encode()
        header = signature if signature is not None else sign(raw, secret or self.secret, timestamp)
        return await self.http.post(
            WEBHOOK_PATH, content=raw, headers={"Stripe-Signature": header, "Content-Type": "application/json"}
        )

    async def restart_standin(self) -> None:
        """Stop the stand-in and start a fresh one on the same port: everything Stripe knew is
        forgotten, as after restarting `make run`."""
        await self.settle_webhooks()
        old = self.standin
        config = old.app.state.standin.config
        await old.stop()
        fresh = StandInConfig(
            port=old.port,
            webhook_url=config.webhook_url,
            refund_settle_seconds=config.refund_settle_seconds,
            webhook_secret=config.webhook_secret,
        )
        self.standin = await Served(create_standin_app(fresh), port=old.port).start()

    async def aclose(self) -> None:
        await self.http.aclose()
        await self.stripe.aclose()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Any], Awaitable[Served]]]:
    """Serve an ASGI app on a free port for the duration of the test."""
    started: list[Served] = []

    async def start(app: Any) -> Served:
        served = await Served(app).start()
        started.append(served)
        return served

    yield start
    for served in reversed(started):
        await served.stop()


@pytest.fixture
async def database_url(engines) -> str:
    """A payments database at head of this test's own (migrated once per session, then cloned)."""
    return await engines.migrated_copy(MIGRATIONS_DIR, version_table=VERSION_TABLE, schema=SCHEMA, prefix="payments")


def make_settings(database_url: str, redis_url: str, standin_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        environment="test",
        database_url=database_url,
        redis_url=redis_url,
        stripe_api_base=standin_url,
        worker_interval_seconds=0.1,
        log_level="WARNING",
        checkout_success_url="http://127.0.0.1:9/done?session={CHECKOUT_SESSION_ID}",
        checkout_cancel_url="http://127.0.0.1:9/cancelled",
    )
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def payments_settings() -> Callable[..., Settings]:
    return make_settings


@pytest.fixture
async def harness(database_url, redis_url) -> AsyncIterator[Harness]:
    tag = uuid.uuid4().hex[:8]
    streams = Streams(
        publish=f"test:{tag}:events:payments", consume=(f"test:{tag}:events:circles", f"test:{tag}:events:auth")
    )
    issuer = TestIssuer()
    standin_config = StandInConfig(
        port=0, webhook_url=None, refund_settle_seconds=0.2, webhook_secret=DEV_STRIPE_WEBHOOK_SECRET
    )
    standin = Served(create_standin_app(standin_config))
    standin_config.port = standin.port
    await standin.start()
    payments = Served(create_app(make_settings(database_url, redis_url, standin.url), streams=streams))
    await payments.start()
    payments.app.state.verifier.keys.load(issuer.jwks())
    standin_config.webhook_url = payments.url + WEBHOOK_PATH
    redis = make_redis(redis_url)
    pay = Harness(
        payments=payments, standin=standin, database_url=database_url, redis=redis, streams=streams, issuer=issuer
    )
    try:
        yield pay
    finally:
        await pay.aclose()
        await payments.stop()
        await pay.standin.stop()  # the one running now (tests may restart it)
        await redis.delete(*streams.consume, streams.publish)
        await redis.aclose()
