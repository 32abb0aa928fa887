"""The payments service app: obligations, Stripe checkout, webhooks, refunds, interventions."""
from __future__ import annotations

from fastapi import FastAPI

from mcm_shared.app import create_service_app
from mcm_shared.wiring import database_errors_as_503, database_hook, redis_hook, verifier_hook

from mcm_payments.config import Settings
from mcm_payments.db import MIGRATIONS_DIR, SCHEMA, VERSION_TABLE


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = create_service_app(
        settings,
        title="Payments service",
        description="Payment obligations, Stripe checkout and webhooks, refunds and manual interventions.",
        routers=[],
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
