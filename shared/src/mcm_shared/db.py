"""Database infrastructure: the declarative base every model uses and a lazily created engine.

Nothing here connects at import time: `Database` builds its engine on first use, so a service
can start, answer `/health/live` and report 503 on `/health/ready` while PostgreSQL is down.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import DateTime, MetaData, func, text
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def make_metadata(schema: str | None = None) -> MetaData:
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def make_base(schema: str | None) -> type[DeclarativeBase]:
    """One declarative base per service, bound to that service's PostgreSQL schema.

    Models mix in `Entity` for the UUID id and created_at/updated_at columns.
    """

    class ServiceBase(DeclarativeBase):
        metadata = make_metadata(schema)
        type_annotation_map: ClassVar[dict[Any, Any]] = {
            datetime: DateTime(timezone=True),
            uuid.UUID: PG_UUID(as_uuid=True),
        }

    return ServiceBase


class TimestampedMixin:
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()
    )


class UUIDPrimaryKeyMixin:
    id: Mapped[uuid.UUID] = mapped_column(PG_UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)


class Entity(UUIDPrimaryKeyMixin, TimestampedMixin):
    """UUID id plus created_at/updated_at; mix into a service's declarative base."""


def to_async_url(url: str) -> str:
    """Accept plain `postgresql://` URLs (what operators write) and use asyncpg underneath."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+asyncpg://" + url[len("postgresql://") :]
    return url


class ResilientSession(AsyncSession):
    """An AsyncSession whose close() does not fail when the database already dropped the
    connection (restart, failover): the transaction went with it and SQLAlchemy has discarded
    the connection. Raising there would come after a request's response was sent (the session
    closes when its dependency exits) and make the server cut the client's keep-alive connection."""

    async def close(self) -> None:
        try:
            await super().close()
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise


class Database:
    """Owns one async engine and session factory, created on first use."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        max_overflow: int = 10,
        connect_timeout: float = 3.0,
        pool_timeout: float = 10.0,
        statement_timeout_ms: int | None = 15_000,
        echo: bool = False,
    ) -> None:
        self.url = to_async_url(url)
        self._pool_size = pool_size
        self._max_overflow = max_overflow
        self._connect_timeout = connect_timeout
        # Waiting for a free pooled connection is queueing under load, not an outage: it gets
        # longer than a connect attempt, which fails fast when the database is down.
        self._pool_timeout = pool_timeout
        self._statement_timeout_ms = statement_timeout_ms
        self._echo = echo
        self._engine: AsyncEngine | None = None
        self._sessionmaker: async_sessionmaker[AsyncSession] | None = None

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            server_settings = {"application_name": "mcm"}
            if self._statement_timeout_ms:
                server_settings["statement_timeout"] = str(self._statement_timeout_ms)
            self._engine = create_async_engine(
                self.url,
                pool_size=self._pool_size,
                max_overflow=self._max_overflow,
                # No pre-ping: it costs a round trip on every checkout (~12 % of a busy service's
                # CPU). A connection the server dropped fails its first statement instead; that
                # marks the whole pool stale, the request answers 503 (database_errors_as_503) and
                # the next checkout connects afresh. Readiness probes find a restart the same way.
                pool_pre_ping=False,
                pool_recycle=1800,
                pool_timeout=self._pool_timeout,
                echo=self._echo,
                connect_args={"timeout": self._connect_timeout, "server_settings": server_settings},
            )
        return self._engine

    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        if self._sessionmaker is None:
            self._sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False, class_=ResilientSession)
        return self._sessionmaker

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessionmaker() as session:
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None
            self._sessionmaker = None
