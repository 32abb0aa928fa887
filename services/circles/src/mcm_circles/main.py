"""The circles service app: circles, memberships, meetings, events.

The lifespan builds one `CirclesRuntime` (runtime.py) after the shared database, Redis and
verifier hooks, starts the background work (outbox relay, the one consumer of other services'
events, the events sweeper, the reports' view refresher) and stores the runtime at
`app.state.runtime`; nothing else writes `app.state`.
"""

from __future__ import annotations

from contextlib import AsyncExitStack

from fastapi import FastAPI

from mcm_circles import consumers
from mcm_circles.archiving.router import router as archiving_router
from mcm_circles.circles.router import internal_router as circles_internal_router
from mcm_circles.circles.router import router as circles_router
from mcm_circles.clock import Clock, SystemClock
from mcm_circles.config import EventsSettings, Settings
from mcm_circles.db import MIGRATIONS_DIR, SCHEMA, VERSION_TABLE
from mcm_circles.directory.router import router as directory_router
from mcm_circles.events.registrations.holds import EventsSweeper
from mcm_circles.events.registrations.router import registration_router
from mcm_circles.events.router import internal_router as events_internal_router
from mcm_circles.events.router import router as events_router
from mcm_circles.gate import EventGates
from mcm_circles.goals.router import router as goals_router
from mcm_circles.listing_cache import start_listing_cache
from mcm_circles.meetings.router import router as meetings_router
from mcm_circles.memberships.router import internal_router as memberships_internal_router
from mcm_circles.memberships.router import mine_router as my_memberships_router
from mcm_circles.memberships.router import router as memberships_router
from mcm_circles.outbox import EVENTS, WRITER
from mcm_circles.people.router import router as people_router
from mcm_circles.profiles.router import router as profiles_router
from mcm_circles.reports.models import VIEWS as REPORT_VIEWS
from mcm_circles.reports.router import router as reports_router
from mcm_circles.runtime import CirclesRuntime
from mcm_circles.transfers.router import circle_router as circle_transfers_router
from mcm_circles.transfers.router import move_router as member_move_router
from mcm_circles.transfers.router import router as transfers_router
from mcm_shared.app import create_service_app
from mcm_shared.events import EventConsumer, OutboxRelay
from mcm_shared.reports import ViewRefresher
from mcm_shared.wiring import Hook, database_errors_as_503, database_hook, redis_hook, verifier_hook

CIRCLES_ROUTERS = [
    circles_router,
    archiving_router,
    memberships_router,
    my_memberships_router,
    circle_transfers_router,
    transfers_router,
    member_move_router,
    meetings_router,
    goals_router,
    profiles_router,
    people_router,
    directory_router,
    memberships_internal_router,
    reports_router,
    circles_internal_router,
]


def runtime_hook(settings: Settings, events_settings: EventsSettings, clock: Clock) -> Hook:
    """Lifespan hook (after the database, Redis and verifier hooks): build the runtime, start the
    listing cache's listener, the outbox relay, the consumer, the events sweeper and the reports'
    view refresher."""

    async def hook(app: FastAPI, stack: AsyncExitStack) -> None:
        database = app.state.db
        redis = app.state.redis
        listing_cache, listing_listener = await start_listing_cache(
            database=database,
            registry=app.state.metrics.registry,
            max_entries=settings.circles_list_cache_entries,
            ttl_seconds=settings.circles_list_cache_ttl_seconds,
            connect_timeout=settings.dependency_timeout_seconds,
            stack=stack,
        )
        app.state.runtime = CirclesRuntime(
            settings=settings,
            events_settings=events_settings,
            database=database,
            redis=redis,
            writer=WRITER,
            listing_cache=listing_cache,
            listing_listener=listing_listener,
            clock=clock,
            # At most half the pool registers at once (see gate.py).
            gates=EventGates(admission_slots=max(1, settings.database_pool_size // 2)),
        )
        sessionmaker = database.sessionmaker
        if events_settings.sweep_enabled:
            sweeper = EventsSweeper(sessionmaker, clock, events_settings)
            sweeper.start()
            stack.push_async_callback(sweeper.stop)
        refresher = ViewRefresher(
            sessionmaker, SCHEMA, REPORT_VIEWS, interval_seconds=settings.reports_refresh_interval_seconds
        )
        refresher.start()
        stack.push_async_callback(refresher.stop)
        if redis is None:
            return
        if settings.outbox_relay_enabled:
            relay = OutboxRelay(sessionmaker, redis, EVENTS)
            relay.start()
            stack.push_async_callback(relay.stop)
        if settings.consume_events:
            consumer = EventConsumer(
                sessionmaker,
                redis,
                EVENTS,
                group=settings.members_consumer_group,
                streams=[settings.auth_events_stream, settings.payments_events_stream],
                handlers=consumers.handlers(clock, events_settings),
            )
            consumer.start()
            stack.push_async_callback(consumer.stop)

    return hook


def create_app(
    settings: Settings | None = None, *, events_settings: EventsSettings | None = None, clock: Clock | None = None
) -> FastAPI:
    """The app; tests pass their own events settings and a clock they move by hand."""
    settings = settings or Settings()
    app = create_service_app(
        settings,
        title="Circles service",
        description="Circles, memberships, transfers, meetings, attendance, goals and events.",
        # The registration route first: it is the hot one, and routes are matched in order.
        routers=[registration_router, *CIRCLES_ROUTERS, events_router, events_internal_router],
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
            runtime_hook(settings, events_settings or EventsSettings(), clock or SystemClock()),
        ],
    )
    database_errors_as_503(app)
    return app
