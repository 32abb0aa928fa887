"""A PostgreSQL LISTEN connection kept open in the background, for in-process caches.

PostgreSQL delivers a NOTIFY only when the transaction that sent it commits, to every session
listening on the channel, whichever process made the change. That makes it the invalidation
signal for caches of data the service owns: a trigger notifies, every replica forgets.

While the connection is down nothing can be heard, so the listener reports `listening = False`
and calls `on_reset` both when it loses the connection and when it regains it: a cache must not
serve anything it kept from before (a change may have been missed in between) and must not
store anything while it cannot hear. Reconnection uses the shared exponential backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information

from mcm_shared.events.worker import backoff_delay

logger = logging.getLogger("mcm.pg_notify")


def asyncpg_dsn(url: str) -> str:
    """A SQLAlchemy URL (`postgresql+asyncpg://…`) as a plain libpq DSN for asyncpg."""
    scheme, sep, rest = url.partition("://")
    return f"postgresql://{rest}" if sep and scheme.startswith("postgresql") else url


class NotificationListener:
    def __init__(
        self,
        dsn: str,
        channel: str,
        *,
        on_notify: Callable[[str], None],
        on_reset: Callable[[], None],
        connect_timeout: float = 3.0,
        backoff_initial: float = 0.2,
        backoff_max: float = 10.0,
    ) -> None:
        self.dsn = asyncpg_dsn(dsn)
        self.channel = channel
        self._on_notify = on_notify
        self._on_reset = on_reset
        self._connect_timeout = connect_timeout
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._task: asyncio.Task[None] | None = None
        self._connection: asyncpg.Connection | None = None
        self._listening = asyncio.Event()
        self._lost = asyncio.Event()

    @property
    def listening(self) -> bool:
        return self._listening.is_set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"listen:{self.channel}")

    async def wait_listening(self, timeout: float) -> bool:  # noqa: ASYNC109  # answers False when it runs out
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), timeout)
        return self.listening

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._close()

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                await self._listen_once()
                failures = 0
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                failures += 1
                if failures == 1:
                    logger.warning(
                        "notification listener lost its connection",
                        extra={"channel": self.channel, "error": type(exc).__name__},
                    )
            self._set_deaf()
            await self._close()
            await asyncio.sleep(backoff_delay(failures, initial=self._backoff_initial, maximum=self._backoff_max))

    async def _listen_once(self) -> None:
        self._lost.clear()
        connection = await asyncpg.connect(
            self.dsn, timeout=self._connect_timeout, server_settings={"application_name": "mcm-listen"}
        )
        self._connection = connection
        connection.add_termination_listener(lambda _connection: self._lost.set())
        await connection.add_listener(self.channel, self._deliver)
        # Anything changed before this point was not heard: start clean, then trust the channel.
        self._listening.set()
        self._on_reset()
        await self._lost.wait()

    def _deliver(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        self._on_notify(payload)

    def _set_deaf(self) -> None:
        if self._listening.is_set():
            self._listening.clear()
            self._on_reset()

    async def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), 2.0)
