"""Configuration of the circles service (names from ARCHITECTURE.md §12): `Settings` for the
service, `EventsSettings` (prefix `EVENTS_`) for the events context's seat holds, refunds and sweep."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from mcm_shared.settings import BaseServiceSettings, DatabaseSettingsMixin


class Settings(DatabaseSettingsMixin, BaseServiceSettings):
    service_name: str = "circles"
    circles_port: int = Field(default=8002, ge=1, le=65535)
    # Event bus: this process relays the service's outbox and consumes auth's and payments'
    # streams (profiles, membership payment status, event registrations) as one consumer group.
    outbox_relay_enabled: bool = True
    consume_events: bool = True
    members_consumer_group: str = "circles-members"
    auth_events_stream: str = "events:auth"
    payments_events_stream: str = "events:payments"
    # Rendered listing pages kept per query and viewer scope (0 turns the cache off); cleared
    # on every change of circles, memberships or names, so the TTL is only a backstop.
    circles_list_cache_entries: int = Field(default=4096, ge=0, le=1_000_000)
    circles_list_cache_ttl_seconds: float = Field(default=300.0, gt=0, le=86_400)
    # How old the reports' materialized views may grow before the refresh job recomputes them
    # (docs/reports.md); every report answer states its refreshed_at and stale_after.
    reports_refresh_interval_seconds: int = Field(default=900, ge=10, le=86_400)

    def required_urls(self) -> dict[str, str | None]:
        return {**super().required_urls(), "DATABASE_URL": self.database_url}


class EventsSettings(BaseSettings):
    """Settings of the events context (environment variables prefixed `EVENTS_`)."""

    model_config = SettingsConfigDict(env_prefix="EVENTS_", env_file=None, extra="ignore", case_sensitive=False)

    # How long a paid registration holds its seat while the person pays.
    hold_minutes: int = Field(default=30, ge=1, le=7 * 24 * 60)
    # A participant who cancels at least this long before the start gets a full refund; later, none.
    refund_cutoff_hours: int = Field(default=72, ge=0, le=365 * 24)
    # How often the background sweep expires holds and completes finished events.
    sweep_interval_seconds: float = Field(default=30.0, gt=0)
    sweep_enabled: bool = True
    # Handle payments' events about registrations (obligation.settled / obligation.overdue) in this
    # process's consumer (the service's one consumer group, reading `PAYMENTS_EVENTS_STREAM`).
    consume_payments: bool = True
