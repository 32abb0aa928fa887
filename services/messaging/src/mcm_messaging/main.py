"""The messaging service app: conversations, messages, read receipts, announcements.

The lifespan builds one `MessagingRuntime` (runtime.py) after the shared database, Redis and
verifier hooks, starts the consumer that feeds the read model (`audience`) and stores the runtime
at `app.state.runtime`; nothing else writes `app.state`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime

from fastapi import FastAPI

from mcm_messaging import bus
from mcm_messaging.config import Settings
from mcm_messaging.conversations.router import router as conversations_router
from mcm_messaging.db import MIGRATIONS_DIR, SCHEMA, VERSION_TABLE
from mcm_messaging.delivery.feeds import Feeds
from mcm_messaging.delivery.hub import Hub
from mcm_messaging.delivery.limits import ConnectionLimit
from mcm_messaging.delivery.tickets import TicketStore
from mcm_messaging.dispatcher import Dispatcher
from mcm_messaging.models import EVENTS
from mcm_messaging.notifications.router import router as notifications_router
from mcm_messaging.realtime.router import router as realtime_router
from mcm_messaging.runtime import MessagingRuntime, Realtime
from mcm_shared.app import create_service_app
from mcm_shared.db import Database
from mcm_shared.events import EventConsumer, OutboxRelay
from mcm_shared.wiring import Hook, database_errors_as_503, database_hook, redis_hook, verifier_hook

ROUTERS = [conversations_router, notifications_router, realtime_router]


def utcnow() -> datetime:
    return datetime.now(UTC)


def runtime_hook(settings: Settings, now: Callable[[], datetime]) -> Hook:
    """Lifespan hook (after the database, Redis and verifier hooks): the runtime, the hub that
    feeds this process's sockets, the notification dispatcher, the outbox relay and the consumer."""

    async def hook(app: FastAPI, stack: AsyncExitStack) -> None:
        database: Database = app.state.db
        redis = app.state.redis
        realtime = None
        if redis is not None:
            hub = Hub(redis)
            hub.start()
            stack.push_async_callback(hub.stop)
            realtime = Realtime(
                feeds=Feeds(
                    redis,
                    max_length=settings.realtime_feed_max_length,
                    max_age_seconds=settings.realtime_feed_max_age_seconds,
                ),
                tickets=TicketStore(redis, ttl_seconds=settings.realtime_ticket_ttl_seconds),
                hub=hub,
                limit=ConnectionLimit(redis, per_user=settings.realtime_connections_per_user),
            )
        runtime = app.state.runtime = MessagingRuntime(
            settings=settings,
            sessionmaker=database.sessionmaker,
            now=now,
            realtime=realtime,
            revocations=getattr(app.state, "revocations", None),
        )
        # The notification centre's pushes, emails and reminders (dispatcher.py).
        dispatcher = Dispatcher(runtime)
        dispatcher.start()
        stack.push_async_callback(dispatcher.stop)
        if redis is None:
            return  # no Redis configured: the read model waits until one is
        if settings.outbox_relay_enabled:
            relay = OutboxRelay(database.sessionmaker, redis, EVENTS)
            relay.start()
            stack.push_async_callback(relay.stop)
        if not settings.consume_events:
            return
        consumer = EventConsumer(
            database.sessionmaker,
            redis,
            EVENTS,
            group=settings.messaging_consumer_group,
            streams=[settings.auth_events_stream, settings.circles_events_stream, settings.payments_events_stream],
            handlers=bus.handlers(runtime),
        )
        consumer.start()
        stack.push_async_callback(consumer.stop)

    return hook


def create_app(settings: Settings | None = None, *, now: Callable[[], datetime] | None = None) -> FastAPI:
    """The app; tests may pass their own clock."""
    settings = settings or Settings()
    app = create_service_app(
        settings,
        title="Messaging service",
        description="Conversations, messages, read receipts and announcements.",
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
            runtime_hook(settings, now or utcnow),
        ],
    )
    database_errors_as_503(app)
    return app
