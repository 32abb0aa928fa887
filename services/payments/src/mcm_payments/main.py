"""The payments service app: obligations, Stripe checkout, webhooks, refunds, interventions."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

from fastapi import FastAPI

from mcm_payments import bus
from mcm_payments.checkout.router import router as checkout_router
from mcm_payments.config import Settings
from mcm_payments.db import MIGRATIONS_DIR, SCHEMA, VERSION_TABLE
from mcm_payments.history.router import router as history_router
from mcm_payments.interventions.router import router as interventions_router
from mcm_payments.jobs import PaymentsWorker
from mcm_payments.models import EVENTS
from mcm_payments.obligations.router import router as obligations_router
from mcm_payments.overview.router import router as overview_router
from mcm_payments.people.router import router as people_router
from mcm_payments.portal.router import router as portal_router
from mcm_payments.refunds.router import router as refunds_router
from mcm_payments.reports.router import router as reports_router
from mcm_payments.runtime import PaymentsRuntime
from mcm_payments.stripe_api import StripeApi
from mcm_payments.wakeups import PendingWebhooks, WorkerWakeup
from mcm_payments.webhooks.inbox import WebhookInbox
from mcm_payments.webhooks.processor import WebhookProcessor
from mcm_payments.webhooks.router import router as webhooks_router
from mcm_payments.webhooks.service import SWEEP_AFTER
from mcm_shared.app import create_service_app
from mcm_shared.db import Database
from mcm_shared.events import EventConsumer, EventWriter, OutboxRelay
from mcm_shared.wiring import Hook, database_errors_as_503, database_hook, redis_hook, verifier_hook

# Order matters where paths overlap: fixed paths before `/{payment_id}/refunds`.
ROUTERS = [
    webhooks_router,
    checkout_router,
    portal_router,
    obligations_router,
    interventions_router,
    history_router,
    overview_router,
    refunds_router,
    people_router,
    reports_router,
]


def build_runtime(
    settings: Settings,
    database: Database,
    stripe_api: StripeApi,
    writer: EventWriter,
    worker_wakeup: WorkerWakeup,
    pending_webhooks: PendingWebhooks,
) -> PaymentsRuntime:
    """The runtime, wired completely: the wake-up signals are made first and shared with the loops."""
    engine = database.engine
    # Webhook stores in flight at once. Each holds a pooled connection for one short statement;
    # beyond this, webhooks wait their turn rather than open overflow connections, which the pool
    # closes again as soon as they are returned (a connect per webhook under load).
    store_slots = asyncio.Semaphore(max(1, settings.database_pool_size // 2))
    return PaymentsRuntime(
        settings=settings,
        stripe=stripe_api,
        writer=writer,
        sessionmaker=database.sessionmaker,
        engine=engine,
        webhook_inbox=WebhookInbox(lambda: engine, store_slots, SWEEP_AFTER),
        worker_wakeup=worker_wakeup,
        pending_webhooks=pending_webhooks,
    )


def payments_hook(settings: Settings, streams: bus.Streams) -> Hook:
    """Stripe client, event writer, background worker, webhook processor, outbox relay and event consumer."""

    async def hook(app: FastAPI, stack: AsyncExitStack) -> None:
        database: Database = app.state.db
        stripe_api = StripeApi(
            settings.stripe_secret_key.get_secret_value(),
            settings.stripe_api_base,
            timeout=settings.stripe_timeout_seconds,
        )
        stack.push_async_callback(stripe_api.aclose)
        writer = EventWriter(EVENTS, producer=bus.PRODUCER, stream=streams.publish)
        worker_wakeup, pending_webhooks = WorkerWakeup(), PendingWebhooks()
        runtime = build_runtime(settings, database, stripe_api, writer, worker_wakeup, pending_webhooks)
        app.state.runtime = runtime
        worker = PaymentsWorker(runtime, settings.worker_interval_seconds)
        worker.start()
        stack.push_async_callback(worker.stop)
        processor = WebhookProcessor(runtime)
        processor.start()
        stack.push_async_callback(processor.stop)
        redis = app.state.redis
        if redis is None:
            return  # no Redis configured: events stay in the outbox until one is
        relay = OutboxRelay(database.sessionmaker, redis, EVENTS)
        consumer = EventConsumer(
            database.sessionmaker,
            redis,
            EVENTS,
            group=bus.GROUP,
            streams=streams.consume,
            handlers=bus.handlers(runtime),
        )
        relay.start()
        consumer.start()
        stack.push_async_callback(relay.stop)
        stack.push_async_callback(consumer.stop)

    return hook


def create_app(settings: Settings | None = None, *, streams: bus.Streams | None = None) -> FastAPI:
    settings = settings or Settings()
    app = create_service_app(
        settings,
        title="Payments service",
        description="Payment obligations, Stripe checkout and webhooks, refunds and manual interventions.",
        routers=ROUTERS,
        lifespan_hooks=[
            database_hook(
                settings.database_url,
                migrations_dir=MIGRATIONS_DIR,
                schema=SCHEMA,
                version_table=VERSION_TABLE,
                pool_size=settings.database_pool_size,
                max_overflow=settings.database_max_overflow,
                pool_timeout=settings.database_pool_timeout_seconds,
            ),
            redis_hook(settings.redis_url),
            verifier_hook(),
            payments_hook(settings, streams or bus.Streams()),
        ],
    )
    database_errors_as_503(app)
    return app
