"""What the use cases need besides a database session: the settings, the clock, real-time
delivery (when Redis is configured) and the revoked sessions. Built once per app by the lifespan
(main.py) and never changed afterwards."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mcm_messaging.config import Settings
from mcm_messaging.delivery.feeds import Feeds
from mcm_messaging.delivery.hub import Hub
from mcm_messaging.delivery.limits import ConnectionLimit
from mcm_messaging.delivery.tickets import TicketStore
from mcm_shared.revocation import RevocationListener


@dataclass(frozen=True, slots=True)
class Realtime:
    """Real-time delivery: frames into per-user feeds, socket tickets, this process's hub and the
    per-user socket limit."""

    feeds: Feeds
    tickets: TicketStore
    hub: Hub
    limit: ConnectionLimit


@dataclass(frozen=True, slots=True)
class MessagingRuntime:
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    # The time rules ask (edit windows); tests pass their own.
    now: Callable[[], datetime]
    # None without Redis: nothing is pushed and sockets are refused.
    realtime: Realtime | None
    # Revoked sessions (mcm_shared.wiring.verifier_hook); sockets of a revoked session close.
    revocations: RevocationListener | None
