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

    consume_events: bool = True
    messaging_consumer_group: str = "messaging"
    auth_events_stream: str = "events:auth"
    circles_events_stream: str = "events:circles"

    def required_urls(self) -> dict[str, str | None]:
        return {**super().required_urls(), "DATABASE_URL": self.database_url}
