"""What the use cases need besides a database session: the settings and the clock. Built once per
app by the lifespan (main.py) and never changed afterwards."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mcm_messaging.config import Settings


@dataclass(frozen=True, slots=True)
class MessagingRuntime:
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    # The time rules ask (edit windows); tests pass their own.
    now: Callable[[], datetime]
