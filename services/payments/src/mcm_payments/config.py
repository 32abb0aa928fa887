"""Configuration of the payments service (names from ARCHITECTURE.md §12)."""
from __future__ import annotations

from pydantic import Field

from mcm_shared.settings import BaseServiceSettings, DatabaseSettingsMixin


class Settings(DatabaseSettingsMixin, BaseServiceSettings):
    service_name: str = "payments"
    payments_port: int = Field(default=8003, ge=1, le=65535)

    def required_urls(self) -> dict[str, str | None]:
        return {**super().required_urls(), "DATABASE_URL": self.database_url}
