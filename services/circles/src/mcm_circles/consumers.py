"""Background event work of the service: the outbox relay and the consumer of other services'
events for profiles and memberships (the events context runs its own consumer group).

| stream          | event types                                                        | handler                         |
|-----------------|--------------------------------------------------------------------|---------------------------------|
| events:auth     | user.registered, user.updated                                      | profiles.events.on_user_changed |
| events:auth     | user.erased                                                        | profiles.events.on_user_erased  |
| events:payments | obligation.settled, obligation.overdue, obligation.paused, obligation.waived | memberships.payments.apply_payment_event |
"""

from __future__ import annotations

from contextlib import AsyncExitStack

from fastapi import FastAPI

from mcm_circles.bus import EVENTS
from mcm_circles.config import Settings
from mcm_circles.memberships.payments import STATUS_OF_EVENT, apply_payment_event
from mcm_circles.profiles.events import on_user_changed, on_user_erased
from mcm_shared.events import EventConsumer, Handler, OutboxRelay

HANDLERS: dict[str, Handler] = {
    "user.registered": on_user_changed,
    "user.updated": on_user_changed,
    "user.erased": on_user_erased,
    **{event_type: apply_payment_event for event_type in STATUS_OF_EVENT},
}


def bus_hook():
    """Lifespan hook (after the database and Redis hooks): start the relay and the consumer."""

    async def hook(app: FastAPI, stack: AsyncExitStack) -> None:
        settings: Settings = app.state.settings
        redis = getattr(app.state, "redis", None)
        app.state.outbox_relay = app.state.members_consumer = None
        if redis is None:
            return
        sessionmaker = app.state.db.sessionmaker
        if settings.outbox_relay_enabled:
            relay = OutboxRelay(sessionmaker, redis, EVENTS)
            app.state.outbox_relay = relay
            relay.start()
            stack.push_async_callback(relay.stop)
        if settings.consume_events:
            consumer = EventConsumer(
                sessionmaker,
                redis,
                EVENTS,
                group=settings.members_consumer_group,
                streams=[settings.auth_events_stream, settings.payments_events_stream],
                handlers=HANDLERS,
            )
            app.state.members_consumer = consumer
            consumer.start()
            stack.push_async_callback(consumer.stop)

    return hook
