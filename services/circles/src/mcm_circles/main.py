"""The circles service app: circles, memberships, meetings, events."""

from __future__ import annotations

from fastapi import FastAPI

from mcm_circles.circles.listing_cache import listing_cache_hook
from mcm_circles.circles.router import router as circles_router
from mcm_circles.config import Settings
from mcm_circles.consumers import bus_hook
from mcm_circles.db import MIGRATIONS_DIR, SCHEMA, VERSION_TABLE
from mcm_circles.events.lifespan import events_hook
from mcm_circles.events.router import router as events_router
from mcm_circles.goals.router import router as goals_router
from mcm_circles.meetings.router import router as meetings_router
from mcm_circles.memberships.router import mine_router as my_memberships_router
from mcm_circles.memberships.router import router as memberships_router
from mcm_circles.profiles.router import router as profiles_router
from mcm_circles.transfers.router import circle_router as circle_transfers_router
from mcm_circles.transfers.router import router as transfers_router
from mcm_shared.app import create_service_app
from mcm_shared.wiring import database_errors_as_503, database_hook, redis_hook, verifier_hook

CIRCLES_ROUTERS = [
    circles_router,
    memberships_router,
    my_memberships_router,
    circle_transfers_router,
    transfers_router,
    meetings_router,
    goals_router,
    profiles_router,
]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = create_service_app(
        settings,
        title="Circles service",
        description="Circles, memberships, transfers, meetings, attendance, goals and events.",
        routers=[*CIRCLES_ROUTERS, events_router],
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
            listing_cache_hook(
                max_entries=settings.circles_list_cache_entries, ttl_seconds=settings.circles_list_cache_ttl_seconds
            ),
            bus_hook(),
            events_hook(),
        ],
    )
    database_errors_as_503(app)
    return app
