"""A local stand-in for the parts of Stripe's HTTP API the payments service uses.

Development and test tooling only: the service never imports it. It speaks Stripe's wire format
(form-encoded requests, Bearer secret key, `Idempotency-Key`, JSON objects with `id`, `object`,
`created`), serves a minimal hosted checkout and invoice page, bills subscription periods when
told to through `/_standin/...` control endpoints, and posts webhooks signed exactly as Stripe
signs them. Run it with `python -m mcm_stripe_standin` (port `STRIPE_STANDIN_PORT`, 12111).
"""

from mcm_stripe_standin.app import create_standin_app
from mcm_stripe_standin.config import StandInConfig

__all__ = ["StandInConfig", "create_standin_app"]
