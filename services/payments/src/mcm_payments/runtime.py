"""What the service layer needs besides a database session: settings, the Stripe API, the event
writer and a way to wake the background worker. Built once per app (see main.py)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mcm_shared.events import EventWriter

from mcm_payments.config import Settings
from mcm_payments.stripe_api import StripeApi


@dataclass
class Runtime:
    settings: Settings
    stripe: StripeApi
    writer: EventWriter
    sessionmaker: async_sessionmaker[AsyncSession]
    # Wakes the worker so Stripe side effects run right after the transaction that decided them.
    kick: Callable[[], None] = field(default=lambda: None)


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
