"""The circles service app: circles, memberships, meetings, events."""
from __future__ import annotations

from fastapi import FastAPI

from mcm_shared.app import create_service_app
from mcm_shared.wiring import database_errors_as_503, database_hook, redis_hook, verifier_hook

from mcm_circles.circles.router import router as circles_router
from mcm_circles.config import Settings
from mcm_circles.db import MIGRATIONS_DIR, SCHEMA, VERSION_TABLE


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = create_service_app(
        settings,
        title="Circles service",
        description="Circles, memberships, transfers, meetings, attendance, goals and events.",
        routers=[circles_router],
        lifespan_hooks=[
            database_hook(
                settings.database_url,
                migrations_dir=MIGRATIONS_DIR,
                schema=SCHEMA,
                version_table=VERSION_TABLE,
                pool_size=settings.database_pool_size,
                max_overflow=settings.database_max_overflow,
            ),
            redis_hook(settings.redis_url),
            verifier_hook(),
        ],
    )
    database_errors_as_503(app)
    return app
