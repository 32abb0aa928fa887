"""Settings base shared by every service: configuration names from ARCHITECTURE.md §12.

Each service subclasses `BaseServiceSettings` and adds its own fields. Production refuses to
start with a development default secret or a missing URL (see `check_production_ready`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# A value that only a development machine may use; production refuses to start with it.
DEV_DEFAULT_SECRET = "dev-insecure-change-me"  # noqa: S105  # refused outside development (see below)


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class ConfigurationError(RuntimeError):
    """Raised at start-up when the configuration cannot run safely."""


class BaseServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    environment: Environment = Environment.DEVELOPMENT
    service_name: str = "service"
    version: str = "0.1.0"
    log_level: str = "INFO"
    redis_url: str | None = None
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    jwt_issuer: str = "mcm-auth"
    jwt_audience: str = "mcm-api"
    access_token_ttl_seconds: int = Field(default=900, ge=60, le=86_400)
    # Where the shared verifier fetches the public keys (auth's JWKS).
    auth_url: str = "http://127.0.0.1:8001"
    jwks_cache_seconds: int = Field(default=300, ge=1)
    jwks_refetch_cooldown_seconds: float = Field(default=10.0, ge=0)
    dependency_timeout_seconds: float = Field(default=2.0, gt=0)
    # Client-credentials secret this service uses to obtain internal tokens from auth.
    service_client_secret: SecretStr = SecretStr(DEV_DEFAULT_SECRET)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @property
    def docs_enabled(self) -> bool:
        return not self.is_production

    def required_urls(self) -> dict[str, str | None]:
        """URLs that must be configured in production; subclasses extend this."""
        return {"REDIS_URL": self.redis_url}

    def secrets(self) -> dict[str, SecretStr | None]:
        """Secrets that must not keep a development default in production."""
        return {"SERVICE_CLIENT_SECRET": self.service_client_secret}

    def check_production_ready(self) -> None:
        """Refuse to run in production with defaults a stranger could guess."""
        if not self.is_production:
            return
        problems = [f"{name} is not set" for name, url in self.required_urls().items() if not url]
        for name, secret in self.secrets().items():
            value = secret.get_secret_value() if secret is not None else ""
            if not value or value == DEV_DEFAULT_SECRET:
                problems.append(f"{name} still has its development default")
        if problems:
            raise ConfigurationError(f"{self.service_name} refuses to start in production: " + "; ".join(problems))


class DatabaseSettingsMixin(BaseSettings):
    """For services that own tables in the main database."""

    database_url: str | None = None
    database_pool_size: int = Field(default=10, ge=1, le=200)
    database_max_overflow: int = Field(default=10, ge=0, le=200)
    database_pool_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
