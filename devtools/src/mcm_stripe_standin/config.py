"""Stand-in configuration, read from the environment by `StandInConfig.from_env()`."""

from __future__ import annotations

import os
from dataclasses import dataclass

from mcm_shared.settings import DEV_DEFAULT_SECRET

# The payments service's development default (mcm_payments.config.DEV_STRIPE_WEBHOOK_SECRET), built
# the same way so that the stand-in needs no service package (a test holds the two equal).
DEV_WEBHOOK_SECRET = f"whsec_{DEV_DEFAULT_SECRET}"

DEFAULT_PORT = 12111


@dataclass
class StandInConfig:
    port: int = DEFAULT_PORT
    host: str = "127.0.0.1"
    # When set, requests must present exactly this key; otherwise any `sk_test_...` key works.
    secret_key: str | None = None
    webhook_secret: str = DEV_WEBHOOK_SECRET
    # Where events are posted; None keeps them (visible at /_standin/events) without sending.
    webhook_url: str | None = None
    # Base of the hosted pages' URLs (the session `url`, the invoice `hosted_invoice_url`).
    public_url: str | None = None
    # Refunds are created `pending` and settle by themselves after this delay (None: only when
    # told to through /_standin/refunds/{id}/succeed|fail).
    refund_settle_seconds: float | None = 0.2
    webhook_timeout_seconds: float = 5.0
    webhook_max_attempts: int = 8

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @classmethod
    def from_env(cls) -> StandInConfig:
        env = os.environ
        port = int(env.get("STRIPE_STANDIN_PORT", DEFAULT_PORT))
        webhook_url = env.get("STRIPE_STANDIN_WEBHOOK_URL")
        if webhook_url is None:
            payments_port = env.get("PAYMENTS_PORT", "8003")
            webhook_url = f"http://127.0.0.1:{payments_port}/api/v1/payments/webhooks/stripe"
        settle = env.get("STRIPE_STANDIN_REFUND_SETTLE_SECONDS", "0.2")
        return cls(
            port=port,
            host=env.get("STRIPE_STANDIN_HOST", "127.0.0.1"),
            secret_key=env.get("STRIPE_SECRET_KEY") or None,
            webhook_secret=env.get("STRIPE_WEBHOOK_SECRET") or DEV_WEBHOOK_SECRET,
            webhook_url=webhook_url or None,
            public_url=env.get("STRIPE_STANDIN_PUBLIC_URL") or None,
            refund_settle_seconds=None if settle.lower() in {"", "manual", "none"} else float(settle),
        )
