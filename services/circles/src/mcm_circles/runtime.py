"""What the use cases of the circles service need besides a database session, built once per app
by the lifespan (main.py) and handed to routes through `deps.RuntimeDep` and its aliases."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from mcm_circles.clock import Clock
from mcm_circles.config import EventsSettings, Settings
from mcm_circles.gate import EventGates
from mcm_circles.listing_cache import ListingCache
from mcm_shared.db import Database
from mcm_shared.events import EventWriter
from mcm_shared.pg_notify import NotificationListener


@dataclass(frozen=True, slots=True)
class CirclesRuntime:
    settings: Settings
    events_settings: EventsSettings
    database: Database
    # None when no Redis is configured (the relay and the consumer then do not run).
    redis: Redis | None
    # The one writer every bounded context publishes through (outbox of stream `events:circles`).
    writer: EventWriter
    listing_cache: ListingCache
    # The NOTIFY listener that keeps the listing cache true across replicas; None when the cache is off.
    listing_listener: NotificationListener | None
    clock: Clock
    gates: EventGates
