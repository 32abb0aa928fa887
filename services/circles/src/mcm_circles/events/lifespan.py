"""Start-up wiring of the events context: its clock and settings on `app.state`, the sweeper
that expires seat holds and completes ended events, and the consumer of payments' events.

Add `events_hook()` to the app's lifespan hooks after the database and Redis hooks. Tests may
put their own `events_clock` / `events_settings` on `app.state` before the lifespan starts.
"""

from __future__ import annotations

from contextlib import AsyncExitStack

from fastapi import FastAPI

from mcm_circles.bus import EVENTS
from mcm_circles.events.clock import SystemClock
from mcm_circles.events.config import EventsSettings
from mcm_circles.events.gate import EventGates
from mcm_circles.events.holds import EventsSweeper
from mcm_circles.events.payments import handlers
from mcm_shared.events import EventConsumer


def events_hook():
    async def hook(app: FastAPI, stack: AsyncExitStack) -> None:
        settings = getattr(app.state, "events_settings", None) or EventsSettings()
        clock = getattr(app.state, "events_clock", None) or SystemClock()
        app.state.events_settings, app.state.events_clock = settings, clock
        app.state.events_gates = EventGates()
        sessionmaker = app.state.db.sessionmaker
        sweeper = EventsSweeper(sessionmaker, clock, settings)
        app.state.events_sweeper = sweeper
        if settings.sweep_enabled:
            sweeper.start()
            stack.push_async_callback(sweeper.stop)
        app.state.events_consumer = None
        redis = getattr(app.state, "redis", None)
        if redis is not None and settings.consume_payments:
            consumer = EventConsumer(
                sessionmaker,
                redis,
                EVENTS,
                group=settings.consumer_group,
                streams=[settings.payments_stream],
                handlers=handlers(clock, settings),
            )
            app.state.events_consumer = consumer
            consumer.start()
            stack.push_async_callback(consumer.stop)

    return hook
