"""Configuration of the messaging service (names from ARCHITECTURE.md §12, plus its own).

Messages are plain text, limited to `MESSAGE_MAX_LENGTH` characters; their author may edit or
delete them for `MESSAGE_EDIT_WINDOW_SECONDS` after sending. The read model of who may write to
whom is fed by auth's and circles' streams, consumed as group `MESSAGING_CONSUMER_GROUP`.
"""

from __future__ import annotations

from pydantic import Field

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

    def required_urls(self) -> dict[str, str | None]:
        return {**super().required_urls(), "DATABASE_URL": self.database_url}
