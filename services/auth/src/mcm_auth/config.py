"""Configuration of the auth service (names from ARCHITECTURE.md §12, plus auth's own)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from mcm_shared.client_address import parse_trusted_proxies
from mcm_shared.settings import DEV_DEFAULT_SECRET, BaseServiceSettings, ConfigurationError


class Settings(BaseServiceSettings):
    service_name: str = "auth"
    auth_port: int = Field(default=8001, ge=1, le=65535)

    # The credentials database: the only place email, phone and password hashes live.
    creds_database_url: str | None = None
    database_pool_size: int = Field(default=10, ge=1, le=200)
    database_max_overflow: int = Field(default=10, ge=0, le=200)
    database_pool_timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    # Signing keys. Production passes the PEM; development generates one file once.
    jwt_private_key: SecretStr | None = None
    jwt_key_dir: Path = Path(".data/keys")
    jwks_max_age_seconds: int = Field(default=60, ge=0, le=3600)
    # Extra time an old key stays published after a newer one took over (rolling deploys).
    key_rotation_grace_seconds: int = Field(default=600, ge=0)

    # Passwords: the pepper keys the pre-hash (HMAC-SHA256) so >72-byte passwords stay whole.
    bcrypt_rounds: int = Field(default=12, ge=4, le=16)
    password_pepper: SecretStr = SecretStr(DEV_DEFAULT_SECRET)
    # Hashing is bounded: at most this many bcrypt hashes at once, on threads of their own
    # (unset: usable cores - 1, at least 1, so the event loop keeps a core for everything else);
    # a request that waits longer than the timeout for a slot is answered 503 with Retry-After.
    # Keep the timeout plus one hash below the gateway's AUTH_TIMEOUT_SECONDS.
    password_hash_concurrency: int | None = Field(default=None, ge=1, le=64)
    password_hash_queue_timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    # Refresh sessions.
    refresh_idle_ttl_seconds: int = Field(default=14 * 86_400, ge=60)
    refresh_absolute_ttl_seconds: int = Field(default=60 * 86_400, ge=60)

    # Login throttling (Redis counters; see sessions/throttle.py). Failures per (account, client
    # address) refuse that address for LOGIN_LOCKOUT_SECONDS; failures per account from every
    # address past LOGIN_MAX_FAILURES_PER_ACCOUNT (per LOGIN_ACCOUNT_WINDOW_SECONDS) make sign-in
    # need an emailed one-time code as well as the password.
    login_max_failures_per_client: int = Field(default=5, ge=1)
    login_lockout_seconds: int = Field(default=900, ge=1)
    login_max_failures_per_account: int = Field(default=20, ge=1)
    login_account_window_seconds: int = Field(default=3600, ge=1)
    login_code_ttl_seconds: int = Field(default=600, ge=60, le=900)
    login_codes_per_hour: int = Field(default=5, ge=1)
    login_max_attempts_per_ip: int = Field(default=50, ge=1)
    login_ip_window_seconds: int = Field(default=900, ge=1)

    register_max_per_ip: int = Field(default=20, ge=1)
    register_ip_window_seconds: int = Field(default=3600, ge=1)

    # Codes and links.
    password_reset_ttl_seconds: int = Field(default=1800, ge=60, le=1800)
    verification_code_ttl_seconds: int = Field(default=600, ge=60, le=600)
    verification_resend_cooldown_seconds: int = Field(default=30, ge=1)
    verification_sends_per_hour: int = Field(default=5, ge=1)
    sms_per_number_per_hour: int = Field(default=3, ge=1)
    sms_per_account_per_hour: int = Field(default=5, ge=1)
    # Where the frontend lives; reset and invitation links point there.
    public_app_url: str = "http://127.0.0.1:8000"
    # Invitations: how long a link works, and how many one person may send (or resend) per hour.
    invitation_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=3600, le=30 * 24 * 3600)
    invitations_per_hour: int = Field(default=30, ge=1)

    # Proxies whose X-Forwarded-For claims we believe: the gateway AND whatever the gateway
    # trusts in front of it (the ingress), as addresses or CIDRs; see mcm_shared.client_address.
    # "*" believes every hop (the left-most entry is then the client): only for test rigs.
    forwarded_allow_ips: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["127.0.0.1", "::1"])

    # The first administrator (created at start in development when given).
    admin_email: str | None = None
    admin_password: SecretStr | None = None

    # Outbound messages.
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = "Men's Circle <no-reply@mcm.example>"
    # "starttls" upgrades the connection (port 587), "tls" speaks TLS from the start (port 465);
    # the server's certificate is checked against the system's CAs either way.
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str | None = None
    smtp_password: SecretStr = SecretStr("")
    sms_api_base: str | None = None
    sms_account_sid: str = "AC_dev"
    sms_auth_token: SecretStr = SecretStr(DEV_DEFAULT_SECRET)
    sms_from: str = "+15005550006"

    # Services whose `notification.requested` events auth delivers (messaging's notification
    # centre decides for members; circles and payments still ask for their staff-facing notices).
    notification_sources: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["circles", "payments", "messaging"]
    )

    # Client credentials of internal callers: "name:secret,name:secret".
    service_clients: SecretStr = SecretStr("")
    service_token_ttl_seconds: int = Field(default=300, ge=30, le=3600)

    # The services auth calls on `/internal/v1/...` (a member's overview, export and erasure),
    # with its own service token; the same names and defaults as the gateway's upstreams.
    # Empty means "not configured": that part of an answer is reported unavailable.
    circles_url: str = "http://127.0.0.1:8002"
    payments_url: str = "http://127.0.0.1:8003"
    internal_call_timeout_seconds: float = Field(default=5.0, gt=0, le=60)

    # Google sign-in (OIDC); disabled unless a client id is set.
    google_client_id: str | None = None
    google_client_secret: SecretStr | None = None
    google_authorization_endpoint: str = "https://accounts.google.com/o/oauth2/v2/auth"
    google_token_endpoint: str = "https://oauth2.googleapis.com/token"  # noqa: S105 (a URL, not a secret)
    google_jwks_uri: str = "https://www.googleapis.com/oauth2/v3/certs"
    google_issuer: str = "https://accounts.google.com"
    # The frontend page Google returns to (it posts code + state on), or this API's GET callback.
    google_redirect_uri: str = "http://127.0.0.1:8000/api/v1/auth/oidc/google/callback"

    @field_validator("forwarded_allow_ips", "notification_sources", mode="before")
    @classmethod
    def _split_ips(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _addresses_or_networks(cls, value: list[str]) -> list[str]:
        parse_trusted_proxies(value)  # ValueError names the bad entry
        return value

    def required_urls(self) -> dict[str, str | None]:
        return {
            **super().required_urls(),
            "CREDS_DATABASE_URL": self.creds_database_url,
            "CIRCLES_URL": self.circles_url,
            "PAYMENTS_URL": self.payments_url,
        }

    def secrets(self) -> dict[str, SecretStr | None]:
        return {
            **super().secrets(),
            "JWT_PRIVATE_KEY": self.jwt_private_key,
            "PASSWORD_PEPPER": self.password_pepper,
        }

    def check_production_ready(self) -> None:
        super().check_production_ready()
        if not self.is_production:
            return
        weak = [
            name
            for name, secret in self.service_client_secrets().items()
            if secret == DEV_DEFAULT_SECRET or len(secret) < 24
        ]
        if weak:
            raise ConfigurationError(
                f"auth refuses to start in production: weak client secret for {', '.join(sorted(weak))}"
            )
        if self.smtp_username and self.smtp_security == "none":
            raise ConfigurationError(
                "auth refuses to start in production: SMTP_USERNAME is set but SMTP_SECURITY is none "
                "(the password would cross the network in clear)"
            )
        if self.sms_api_base and self.sms_auth_token.get_secret_value() == DEV_DEFAULT_SECRET:
            raise ConfigurationError(
                "auth refuses to start in production: SMS_AUTH_TOKEN still has its development default"
            )

    def service_client_secrets(self) -> dict[str, str]:
        """Parse SERVICE_CLIENTS into {name: secret}; malformed entries are ignored.

        Outside production an empty SERVICE_CLIENTS accepts the platform's own services with the
        development default secret (what their SERVICE_CLIENT_SECRET defaults to), so a fresh
        `make run` works; production refuses that default at start-up.
        """
        if not self.service_clients.get_secret_value().strip() and not self.is_production:
            return {name: DEV_DEFAULT_SECRET for name in ("gateway", "circles", "payments")}
        clients: dict[str, str] = {}
        for entry in self.service_clients.get_secret_value().split(","):
            name, sep, secret = entry.strip().partition(":")
            if sep and name and secret:
                clients[name.strip()] = secret.strip()
        return clients
