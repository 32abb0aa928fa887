"""Configuration of the messaging service (names from ARCHITECTURE.md §12, plus its own).

Messages are plain text, limited to `MESSAGE_MAX_LENGTH` characters; their author may edit or
delete them for `MESSAGE_EDIT_WINDOW_SECONDS` after sending. The read model of who may write to
whom is fed by auth's and circles' streams, consumed as group `MESSAGING_CONSUMER_GROUP`.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from mcm_shared.settings import BaseServiceSettings, DatabaseSettingsMixin


class Settings(DatabaseSettingsMixin, BaseServiceSettings):
    service_name: str = "messaging"
    messaging_port: int = Field(default=8004, ge=1, le=65535)

    message_max_length: int = Field(default=4000, ge=1, le=20_000)
    message_edit_window_seconds: int = Field(default=900, ge=0, le=86_400)

    # Real time (docs/messaging.md, "Real time").
    realtime_ticket_ttl_seconds: int = Field(default=30, ge=1, le=600)
    realtime_auth_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    realtime_send_queue: int = Field(default=256, ge=1, le=100_000)
    realtime_slow_consumer_seconds: float = Field(default=10.0, gt=0, le=300)
    realtime_connections_per_user: int = Field(default=10, ge=1, le=1000)
    realtime_feed_max_length: int = Field(default=1000, ge=10, le=1_000_000)
    realtime_feed_max_age_seconds: int = Field(default=86_400, ge=60, le=30 * 86_400)

    consume_events: bool = True
    messaging_consumer_group: str = "messaging"
    auth_events_stream: str = "events:auth"
    circles_events_stream: str = "events:circles"
    payments_events_stream: str = "events:payments"
    # Publishing (`notification.requested` to auth) through the outbox.
    outbox_relay_enabled: bool = True

    # The notification centre (docs/messaging.md, "Notification centre").
    notification_email_delay_seconds: int = Field(default=900, ge=0, le=7 * 86_400)
    notification_dispatch_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    # Reminders: minutes before a meeting, comma-separated ("1440,120" = 24 h and 2 h).
    reminder_offsets_minutes: Annotated[list[int], NoDecode] = Field(default_factory=lambda: [1440, 120])
    reminders_enabled: bool = True

    @field_validator("reminder_offsets_minutes", mode="before")
    @classmethod
    def _split_offsets(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [int(item) for item in value.split(",") if item.strip()]
        return value

    @field_validator("reminder_offsets_minutes")
    @classmethod
    def _positive_offsets(cls, value: list[int]) -> list[int]:
        if not value or any(minutes < 1 or minutes > 30 * 24 * 60 for minutes in value):
            raise ValueError("reminder offsets are minutes between 1 and 43200")
        return value

    def required_urls(self) -> dict[str, str | None]:
        return {**super().required_urls(), "DATABASE_URL": self.database_url}
