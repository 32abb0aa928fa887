"""Configuration of the payments service (names from ARCHITECTURE.md §12).

Development defaults point at the local Stripe stand-in (`python -m mcm_stripe_standin`, in the
development-only devtools package), which reads the same defaults, so `make run` works without any
Stripe account; checkout returns to small pages the stand-in serves
(`/_standin/checkout/success|cancelled`), on whatever stand-in `STRIPE_API_BASE` names. Production
refuses to start with them: it needs real keys, an https Stripe API and real (https) return URLs.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator

from mcm_shared.settings import DEV_DEFAULT_SECRET, BaseServiceSettings, ConfigurationError, DatabaseSettingsMixin

DEV_STRIPE_SECRET_KEY = f"sk_test_{DEV_DEFAULT_SECRET}"
DEV_STRIPE_WEBHOOK_SECRET = f"whsec_{DEV_DEFAULT_SECRET}"
DEV_STRIPE_API_BASE = "http://127.0.0.1:12111"
# Return pages served by the stand-in (the web app has none in development).
STANDIN_SUCCESS_PATH = "/_standin/checkout/success?session_id={CHECKOUT_SESSION_ID}"
STANDIN_CANCEL_PATH = "/_standin/checkout/cancelled"
DEV_SUCCESS_URL = DEV_STRIPE_API_BASE + STANDIN_SUCCESS_PATH
DEV_CANCEL_URL = DEV_STRIPE_API_BASE + STANDIN_CANCEL_PATH
# The web app's payments page, served by the gateway in development (`make run`).
DEV_PORTAL_RETURN_URL = "http://127.0.0.1:8000/payments"


class Settings(DatabaseSettingsMixin, BaseServiceSettings):
    service_name: str = "payments"
    payments_port: int = Field(default=8003, ge=1, le=65535)

    stripe_secret_key: SecretStr = SecretStr(DEV_STRIPE_SECRET_KEY)
    stripe_webhook_secret: SecretStr = SecretStr(DEV_STRIPE_WEBHOOK_SECRET)
    stripe_api_base: str = DEV_STRIPE_API_BASE
    stripe_timeout_seconds: float = Field(default=10.0, gt=0, le=80)
    # Stripe's own default; a signed request older than this is refused (replay protection).
    stripe_webhook_tolerance_seconds: int = Field(default=300, ge=1, le=3600)
    checkout_success_url: str = DEV_SUCCESS_URL
    checkout_cancel_url: str = DEV_CANCEL_URL
    # Where the billing portal sends the member back ("Return" on Stripe's portal page).
    portal_return_url: str = DEV_PORTAL_RETURN_URL

    # Background work: webhook retries, Stripe side effects, pause expiry.
    worker_interval_seconds: float = Field(default=0.5, gt=0, le=60)
    webhook_max_attempts: int = Field(default=12, ge=1, le=100)
    stripe_task_max_attempts: int = Field(default=20, ge=1, le=100)
    # One reminder per obligation within this window (staff cannot spam a member by accident).
    reminder_cooldown_seconds: int = Field(default=3600, ge=0)
    # How old the reports' materialized views may grow before the worker recomputes them
    # (docs/reports.md); every report answer states its refreshed_at and stale_after.
    reports_refresh_interval_seconds: int = Field(default=900, ge=10, le=86_400)

    @model_validator(mode="after")
    def _return_pages_follow_the_standin(self) -> Settings:
        """Left at their defaults, the return URLs name the stand-in `STRIPE_API_BASE` points at
        (`make run` may put it on another port). Not for an https API: that is Stripe itself."""
        base = self.stripe_api_base.rstrip("/")
        if urlsplit(base).scheme == "http" and base != DEV_STRIPE_API_BASE:
            if self.checkout_success_url == DEV_SUCCESS_URL:
                self.checkout_success_url = base + STANDIN_SUCCESS_PATH
            if self.checkout_cancel_url == DEV_CANCEL_URL:
                self.checkout_cancel_url = base + STANDIN_CANCEL_PATH
        return self

    def required_urls(self) -> dict[str, str | None]:
        return {**super().required_urls(), "DATABASE_URL": self.database_url}

    def secrets(self) -> dict[str, SecretStr | None]:
        return {
            **super().secrets(),
            "STRIPE_SECRET_KEY": self.stripe_secret_key,
            "STRIPE_WEBHOOK_SECRET": self.stripe_webhook_secret,
        }

    def check_production_ready(self) -> None:
        problems: list[str] = []
        if self.is_production:
            if self.stripe_secret_key.get_secret_value() == DEV_STRIPE_SECRET_KEY:
                problems.append("STRIPE_SECRET_KEY still has its development default")
            if self.stripe_webhook_secret.get_secret_value() == DEV_STRIPE_WEBHOOK_SECRET:
                problems.append("STRIPE_WEBHOOK_SECRET still has its development default")
            if urlsplit(self.stripe_api_base).scheme != "https":
                problems.append("STRIPE_API_BASE must be an https URL")
            for name, value, default in (
                ("CHECKOUT_SUCCESS_URL", self.checkout_success_url, DEV_SUCCESS_URL),
                ("CHECKOUT_CANCEL_URL", self.checkout_cancel_url, DEV_CANCEL_URL),
                ("PORTAL_RETURN_URL", self.portal_return_url, DEV_PORTAL_RETURN_URL),
            ):
                if value == default or urlsplit(value).scheme != "https":
                    problems.append(f"{name} must be set to an https URL")
        try:
            super().check_production_ready()
        except ConfigurationError as exc:
            problems.insert(0, str(exc).split(": ", 1)[-1])
        if problems:
            raise ConfigurationError(f"{self.service_name} refuses to start in production: " + "; ".join(problems))
