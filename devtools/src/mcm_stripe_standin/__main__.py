"""`python -m mcm_stripe_standin`: serve the Stripe stand-in on STRIPE_STANDIN_PORT (12111)."""

from __future__ import annotations

import logging

import uvicorn

from mcm_stripe_standin.app import create_standin_app
from mcm_stripe_standin.config import StandInConfig


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s standin %(levelname)s %(message)s")
    config = StandInConfig.from_env()
    print(f"Stripe stand-in on http://{config.host}:{config.port} — webhooks to {config.webhook_url}", flush=True)
    uvicorn.run(create_standin_app(config), host=config.host, port=config.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
