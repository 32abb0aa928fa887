"""Configuration of the circles service (names from ARCHITECTURE.md §12)."""

from __future__ import annotations

from pydantic import Field

from mcm_shared.settings import BaseServiceSettings, DatabaseSettingsMixin


class Settings(DatabaseSettingsMixin, BaseServiceSettings):
    service_name: str = "circles"
    circles_port: int = Field(default=8002, ge=1, le=65535)
    # Event bus: this process relays the service's outbox and consumes auth's and payments'
    # streams (profiles, membership payment status) as one consumer group.
    outbox_relay_enabled: bool = True
    consume_events: bool = True
    members_consumer_group: str = "circles-members"
    auth_events_stream: str = "events:auth"
    payments_events_stream: str = "events:payments"
    # Rendered listing pages kept per query and viewer scope (0 turns the cache off); cleared
    # on every change of circles, memberships or names, so the TTL is only a backstop.
    circles_list_cache_entries: int = Field(default=4096, ge=0, le=1_000_000)
    circles_list_cache_ttl_seconds: float = Field(default=300.0, gt=0, le=86_400)

    def required_urls(self) -> dict[str, str | None]:
        return {**super().required_urls(), "DATABASE_URL": self.database_url}
