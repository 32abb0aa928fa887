"""Statements run on a pooled connection's asyncpg connection itself, outside any transaction.

For the few hot statements where SQLAlchemy's own work dominates the cost. Profiled under the
registration benchmark (py-spy), running circles' two at-once registration statements through
`AsyncConnection` cost about a third of circles' CPU per registration: a greenlet hop per call,
hashing a large statement's cache key, re-rendering expanding parameters, execution options,
result wrapping and the connection's begin/close bookkeeping. The outbox relay's idle probe is
the other user. Each statement is compiled once, at import, to PostgreSQL text with `$n`
parameters; asyncpg prepares it once per pooled connection. The connection still comes from
(and returns to) the engine's pool, and with no transaction begun each statement commits on its
own. Driver errors are re-raised as the SQLAlchemy errors an `AsyncConnection` would have raised
(`IntegrityError` with the constraint name, `OperationalError`/`DBAPIError` for the 503
handler), and a connection that broke is invalidated rather than returned to the pool.
Results are asyncpg `Record`s; jsonb arrives decoded (SQLAlchemy's codec on its connections)
but is passed as text.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util import greenlet_spawn

_COMPILER_DIALECT = PGDialect_asyncpg()  # type: ignore[no-untyped-call]  # SQLAlchemy's dialect __init__ is untyped; only compiles, never connects


class DriverStatement:
    """A Core statement compiled once to asyncpg's SQL and the order of its parameters."""

    def __init__(self, statement: Any) -> None:
        compiled = statement.compile(dialect=_COMPILER_DIALECT)
        if any(bind.expanding for bind in compiled.binds.values()):
            raise ValueError("expanding (IN list) parameters would need compiling per call")
        self.sql = str(compiled)
        self.names: tuple[str, ...] = tuple(compiled.positiontup or ())
        # Parameters the statement itself carries a value for (e.g. `status = 'pending_payment'`).
        self._fixed = {name: value for name, value in compiled.params.items() if value is not None}

    def arguments(self, values: Mapping[str, Any]) -> list[Any]:
        fixed = self._fixed
        return [values[name] if name in values else fixed[name] for name in self.names]


class DriverConnection:
    """One pooled connection's asyncpg connection, used outside any transaction (autocommit)."""

    def __init__(self, engine: AsyncEngine, pooled: PoolProxiedConnection) -> None:
        self._engine = engine
        self._pooled = pooled
        driver = pooled.driver_connection  # the asyncpg connection
        if driver is None:  # only a connection that was already closed has none
            raise RuntimeError("the pooled connection has no driver connection")
        self.driver: Any = driver
        self.broken = False

    async def fetchrow(self, statement: DriverStatement, values: Mapping[str, Any] | None = None) -> Any:
        """The statement's first row (an asyncpg Record) or None."""
        try:
            return await self.driver.fetchrow(statement.sql, *statement.arguments(values or {}))
        except asyncio.CancelledError:
            # Cancelled mid-statement (e.g. the client went away): the connection may still be
            # busy with it, so it is not handed to the next request.
            self.broken = True
            raise
        except Exception as error:
            raise self._translated(error, statement, values or {}) from error

    def _translated(self, error: Exception, statement: DriverStatement, values: Mapping[str, Any]) -> Exception:
        """The error as SQLAlchemy's `Connection` reports it (the dialect's own translation)."""
        dialect = self._engine.dialect
        try:
            self._pooled.dbapi_connection._handle_exception(error)  # type: ignore[union-attr]  # always raises
        except Exception as dbapi_error:
            if not isinstance(dbapi_error, dialect.loaded_dbapi.Error):
                return dbapi_error
            self.broken = dialect.is_disconnect(dbapi_error, self._pooled.dbapi_connection, None)
            return DBAPIError.instance(
                statement.sql,
                dict(values),
                dbapi_error,
                dialect.loaded_dbapi.Error,
                hide_parameters=True,
                connection_invalidated=self.broken,
                dialect=dialect,
            )
        return error


@asynccontextmanager
async def driver_connection(engine: AsyncEngine) -> AsyncIterator[DriverConnection]:
    """Check a connection out of `engine`'s pool for driver-level statements; returned (or, if
    it broke, invalidated) on exit."""
    pooled = await engine.raw_connection()
    connection = DriverConnection(engine, pooled)
    try:
        yield connection
    finally:
        # Closing runs the pool's reset (a no-op rollback: no transaction was begun) in a greenlet.
        await greenlet_spawn(pooled.invalidate if connection.broken else pooled.close)
