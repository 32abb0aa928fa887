"""The auth service app: credentials, sessions, roles, signing keys, outbound messages."""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack
from datetime import timedelta

import httpx
from fastapi import FastAPI
from redis.asyncio import Redis

from mcm_auth.accounts.router import router as accounts_router
from mcm_auth.admin.router import router as admin_router
from mcm_auth.clients.router import router as clients_router
from mcm_auth.clients.service import AUTH_ITSELF, mint
from mcm_auth.config import Settings
from mcm_auth.db import MIGRATIONS_DIR, SCHEMA, VERSION_TABLE
from mcm_auth.google.router import router as google_router
from mcm_auth.housekeeping import Housekeeping
from mcm_auth.imports.router import router as imports_router
from mcm_auth.internal.client import InternalClient
from mcm_auth.invitations.router import router as invitations_router
from mcm_auth.keys.material import load_signing_key
from mcm_auth.keys.router import router as keys_router
from mcm_auth.keys.service import KeyRing
from mcm_auth.models import EVENTS
from mcm_auth.notifications.router import router as notifications_router
from mcm_auth.notifications.service import request_handler
from mcm_auth.oidc.client import OidcClient
from mcm_auth.outbox.delivery import DeliveryWorker
from mcm_auth.outbox.outbound import Outbound
from mcm_auth.outbox.transports import SmsTransport, SmtpTransport
from mcm_auth.passwords.router import router as passwords_router
from mcm_auth.people.router import router as people_router
from mcm_auth.privacy.router import router as privacy_router
from mcm_auth.registration.router import router as registration_router
from mcm_auth.runtime import AuthRuntime
from mcm_auth.security.passwords import PasswordHasher
from mcm_auth.sessions.router import router as sessions_router
from mcm_auth.verification.router import router as verification_router
from mcm_shared.app import create_service_app
from mcm_shared.client_address import TrustedProxies
from mcm_shared.db import Database
from mcm_shared.events import EventConsumer, EventWriter, OutboxRelay, stream_for
from mcm_shared.events.worker import BackgroundWorker
from mcm_shared.security import TokenVerifier, internal_verifier
from mcm_shared.settings import Environment
from mcm_shared.wiring import Hook, database_errors_as_503, database_hook, redis_hook

logger = logging.getLogger("mcm.auth")

ROUTERS = [
    keys_router,
    registration_router,
    accounts_router,
    privacy_router,
    sessions_router,
    passwords_router,
    verification_router,
    notifications_router,
    admin_router,
    people_router,
    invitations_router,
    imports_router,
    clients_router,
    google_router,
]


async def build_runtime(settings: Settings, database: Database, redis: Redis, stack: AsyncExitStack) -> AuthRuntime:
    """Everything the use cases share, built once; what needs closing is closed by `stack`."""
    pem = settings.jwt_private_key.get_secret_value() if settings.jwt_private_key else None
    keyring = KeyRing(
        load_signing_key(pem, settings.jwt_key_dir),
        access_ttl_seconds=settings.access_token_ttl_seconds,
        grace_seconds=settings.key_rotation_grace_seconds,
    )
    try:
        await keyring.register(database)
    except Exception:
        logger.warning("could not publish the signing key yet; will retry", exc_info=True)
    http = httpx.AsyncClient(timeout=settings.dependency_timeout_seconds * 2, trust_env=False)
    stack.push_async_callback(http.aclose)
    hasher = PasswordHasher(
        settings.password_pepper.get_secret_value(),
        settings.bcrypt_rounds,
        concurrency=settings.password_hash_concurrency,
        queue_timeout=settings.password_hash_queue_timeout_seconds,
    )
    stack.callback(hasher.close)
    return AuthRuntime(
        settings=settings,
        database=database,
        redis=redis,
        keyring=keyring,
        hasher=hasher,
        events=EventWriter(EVENTS, producer="auth"),
        outbound=Outbound(),
        oidc=OidcClient(settings, http),
        trusted_proxies=TrustedProxies(settings.forwarded_allow_ips),
        http=http,
        internal=InternalClient(
            http,
            base_urls={"circles": settings.circles_url, "payments": settings.payments_url},
            token_source=lambda: mint(keyring, settings, AUTH_ITSELF),
            timeout_seconds=settings.internal_call_timeout_seconds,
        ),
    )


def auth_hook(settings: Settings) -> Hook:
    async def hook(app: FastAPI, stack: AsyncExitStack) -> None:
        if app.state.redis is None:
            raise RuntimeError("auth: REDIS_URL is required (sign-in limits and revocations live there)")
        runtime = await build_runtime(settings, app.state.db, app.state.redis, stack)
        # Lifespan-only writes: the runtime, and the verifier mcm_shared.security reads from `app.state`.
        app.state.runtime = runtime
        app.state.verifier = TokenVerifier(
            runtime.keyring.verifier_keys, issuer=settings.jwt_issuer, audience=settings.jwt_audience
        )
        app.state.internal_verifier = internal_verifier(app.state.verifier)
        await _bootstrap_admin(runtime)
        for worker in _workers(runtime):
            worker.start()
            stack.push_async_callback(worker.stop)

    return hook


def _workers(runtime: AuthRuntime) -> list[BackgroundWorker]:
    """Background work of every replica: sending messages, relaying events, consuming
    `notification.requested`, and clean-up. Each stops gracefully with the app."""
    settings, database, redis, outbound = runtime.settings, runtime.database, runtime.redis, runtime.outbound
    return [
        DeliveryWorker(
            database,
            outbound,
            SmtpTransport(settings),
            SmsTransport(settings, runtime.http),
            log_when_unconfigured=settings.environment is Environment.DEVELOPMENT,
        ),
        OutboxRelay(database.sessionmaker, redis, EVENTS),
        EventConsumer(
            database.sessionmaker,
            redis,
            EVENTS,
            group="auth",
            streams=[stream_for(name) for name in settings.notification_sources],
            handlers={"notification.requested": request_handler(outbound)},
        ),
        Housekeeping(database, absolute_session_ttl=timedelta(seconds=settings.refresh_absolute_ttl_seconds)),
    ]


async def _bootstrap_admin(runtime: AuthRuntime) -> None:
    """In development, ADMIN_EMAIL + ADMIN_PASSWORD create the first admin at start."""
    settings = runtime.settings
    if settings.is_production or not (settings.admin_email and settings.admin_password):
        return
    from mcm_auth.accounts.rules import normalise_email
    from mcm_auth.commands import ensure_admin_in

    try:
        report = await ensure_admin_in(
            runtime.database,
            settings,
            email=normalise_email(settings.admin_email),
            password=settings.admin_password.get_secret_value(),
            display_name="Administrator",
            hasher=runtime.hasher,
        )
        logger.info(report.split(" with generated password")[0])
    except Exception:
        logger.warning("could not create the admin account at start", exc_info=True)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = create_service_app(
        settings,
        title="Auth service",
        description="Credentials, sessions, roles, signing keys (JWKS), verification and outbound messages.",
        routers=ROUTERS,
        lifespan_hooks=[
            database_hook(
                settings.creds_database_url,
                migrations_dir=MIGRATIONS_DIR,
                schema=SCHEMA,
                version_table=VERSION_TABLE,
                pool_size=settings.database_pool_size,
                max_overflow=settings.database_max_overflow,
                pool_timeout=settings.database_pool_timeout_seconds,
            ),
            redis_hook(settings.redis_url),
            auth_hook(settings),
        ],
    )
    database_errors_as_503(app)
    return app
