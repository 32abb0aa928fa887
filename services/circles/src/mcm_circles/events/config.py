"""Settings of the events context (environment variables prefixed `EVENTS_`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class EventsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EVENTS_", env_file=None, extra="ignore", case_sensitive=False)

    # How long a paid registration holds its seat while the person pays.
    hold_minutes: int = Field(default=30, ge=1, le=7 * 24 * 60)
    # A participant who cancels at least this long before the start gets a full refund; later, none.
    refund_cutoff_hours: int = Field(default=72, ge=0, le=365 * 24)
    # How often the background sweep expires holds and completes finished events.
    sweep_interval_seconds: float = Field(default=30.0, gt=0)
    sweep_enabled: bool = True
    # Consume payments' events (obligation.settled / obligation.overdue) in this process.
    consume_payments: bool = True
    payments_stream: str = "events:payments"
    consumer_group: str = "circles-events"


# async: FastAPI runs a plain `def` dependency in its thread pool, a hop on every request.
async def get_events_settings(request: Request) -> EventsSettings:
    settings = getattr(request.app.state, "events_settings", None)
    if settings is None:
        settings = request.app.state.events_settings = EventsSettings()
    return settings


EventsSettingsDep = Annotated[EventsSettings, Depends(get_events_settings)]
