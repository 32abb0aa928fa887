"""Lifespan hooks that connect a service app to its infrastructure: database (+ migration
readiness), Redis and the token verifier. Each hook registers its health checks and cleanup.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_shared.db import Database
from mcm_shared.migrations import MigrationCheck
from mcm_shared.redis import make_redis
from mcm_shared.settings import BaseServiceSettings

Hook = Callable[[FastAPI, AsyncExitStack], Awaitable[None]]


def database_hook(
    url: str | None,
    *,
    migrations_dir: Path,
    schema: str | None,
    version_table: str,
    pool_size: int = 10,
    max_overflow: int = 10,
    pool_timeout: float = 10.0,
) -> Hook:
    async def hook(app: FastAPI, stack: AsyncExitStack) -> None:
        settings: BaseServiceSettings = app.state.settings
        if not url:
            raise RuntimeError(f"{settings.service_name}: no database URL configured (use `make run` or set it)")
        database = Database(
            url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            connect_timeout=settings.dependency_timeout_seconds,
            pool_timeout=pool_timeout,
        )
        app.state.db = database
        app.state.health.add("database", database.ping, settings.dependency_timeout_seconds)
        check = MigrationCheck(lambda: database.engine, migrations_dir, version_table=version_table, schema=schema)
        app.state.health.add("migrations", check, settings.dependency_timeout_seconds)
        stack.push_async_callback(database.dispose)

    return hook


def redis_hook(url: str | None) -> Hook:
    async def hook(app: FastAPI, stack: AsyncExitStack) -> None:
        settings: BaseServiceSettings = app.state.settings
        if not url:
            app.state.redis = None
            return
        client = make_redis(url, socket_timeout=settings.dependency_timeout_seconds)
        app.state.redis = client
        app.state.health.add("redis", client.ping, settings.dependency_timeout_seconds)
        stack.push_async_callback(client.aclose)

    return hook


async def _cancelled(task: asyncio.Task[object]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def verifier_hook() -> Hook:
    """The shared token verifier at `app.state.verifier`, consulting revoked sessions, and the
    verifier of service tokens for `/internal/` routes at `app.state.internal_verifier`.

    With Redis configured (`redis_hook` runs first), a `RevocationListener` keeps the revoked
    sessions in memory and the verifier refuses their tokens, so a logged-out token is refused
    by this service itself within a second, however the request reached it (ARCHITECTURE §4).
    While Redis is unreachable the listener keeps the last set it loaded and reloads the whole
    set on reconnecting; the `revocations` health check fails meanwhile, so readiness turns 503
    and the service is taken out of rotation. Auth cannot publish a revocation while Redis is
    down either (its logout answers 503), so the set kept is only stale for a service cut off
    from a Redis that auth still reaches. Until the first load succeeds nothing is known at all:
    user tokens are then answered 503 instead of being trusted.
    """

    async def hook(app: FastAPI, stack: AsyncExitStack) -> None:
        from mcm_shared.revocation import RevocationListener
        from mcm_shared.security import internal_verifier, make_verifier

        settings: BaseServiceSettings = app.state.settings
        redis = getattr(app.state, "redis", None)
        is_revoked = None
        if redis is not None:
            # Announcements carry only the session id; keep each at least as long as a token lives.
            listener = RevocationListener(redis, fallback_ttl_seconds=settings.access_token_ttl_seconds + 60)
            await listener.start(wait_seconds=settings.dependency_timeout_seconds)
            stack.push_async_callback(listener.stop)
            app.state.revocations = listener
            app.state.health.add("revocations", listener.check, settings.dependency_timeout_seconds)
            is_revoked = listener.is_revoked_or_unknown
        verifier = make_verifier(settings, is_revoked=is_revoked)
        app.state.verifier = verifier
        app.state.internal_verifier = internal_verifier(verifier)
        stack.push_async_callback(verifier.keys.aclose)
        # Warm the key cache without delaying start-up (auth may start after this service), as
        # the gateway does: otherwise the first signed-in request pays for the fetch, and for the
        # HTTP client, TLS context and imports it needs (under the registration benchmark's first
        # burst, more CPU than the rest of circles' work on those requests).
        warm_up = asyncio.create_task(verifier.keys.refresh(), name="jwks-warm-up")
        stack.push_async_callback(_cancelled, warm_up)

    return hook


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session per request; services commit once per use case (see each service's README)."""
    database: Database = request.app.state.db
    async with database.session() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]

OpenSession = Callable[[], AbstractAsyncContextManager[AsyncSession]]


async def get_session_opener(request: Request) -> OpenSession:
    """For routes that often need no database at all (answers from a cache): the use case
    opens a session only when it has to, instead of one being set up for every request."""
    database: Database = request.app.state.db
    return database.session


SessionOpenerDep = Annotated[OpenSession, Depends(get_session_opener)]


def database_errors_as_503(app: FastAPI) -> None:
    """A database or Redis that is down answers a fast 503 problem, never a 500 or a hang."""

    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeout
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from mcm_shared.errors import problem_response
    from mcm_shared.events.worker import is_transient

    async def unavailable(request: Request, exc: Exception) -> JSONResponse:
        return problem_response(
            503,
            headers={"Retry-After": "1"},
            type_slug="dependency-unavailable",
            title="Service temporarily unavailable",
            detail="A dependency is unavailable; try again shortly.",
        )

    async def driver_error(request: Request, exc: Exception) -> JSONResponse:
        # asyncpg's "the database system is starting up / shutting down" and "terminating
        # connection due to administrator command" reach us as a plain DBAPIError.
        if is_transient(exc):
            return await unavailable(request, exc)
        if _rejected_input(exc):
            # A value the schema let through but PostgreSQL refuses (a NUL in text, a number
            # out of range, a CHECK the service did not translate): the client's input, not our fault.
            return problem_response(
                422,
                type_slug="validation-error",
                title="Invalid input",
                detail=(
                    "A value in the request cannot be stored (for example a NUL character or a number out of range)."
                ),
            )
        raise exc

    for exc_type in (
        OperationalError,
        InterfaceError,
        PoolTimeout,
        OSError,
        asyncio.TimeoutError,
        RedisConnectionError,
        RedisTimeout,
    ):
        app.add_exception_handler(exc_type, unavailable)
    app.add_exception_handler(DBAPIError, driver_error)


# SQLSTATE class 22 (data exception: untranslatable character, numeric out of range, invalid
# text representation...) and 23514 (check violation).
def _rejected_input(exc: Exception) -> bool:
    orig = getattr(exc, "orig", None)
    for candidate in (orig, getattr(orig, "__cause__", None)):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if isinstance(code, str) and (code.startswith("22") or code == "23514"):
            return True
    return False
