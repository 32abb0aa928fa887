"""End-to-end fixtures: the real processes (gateway + services, and the mail sink, SMS sink and
Stripe stand-in that `make run` starts) on free ports, on the session's PostgreSQL and Redis,
each platform with fresh databases and its own Redis database number."""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mcm_devstack.platform import Platform
from mcm_testing.engines import TestEngines

sys.path.insert(0, str(Path(__file__).parent))  # so test modules can import e2ekit

_redis_db = itertools.count(1)

# Never taken from the shell: engines come from the session, and email, SMS and Stripe are always
# the local sinks and stand-in, never a real provider configured for `make run`.
NOT_INHERITED = (
    "DATABASE_URL",
    "CREDS_DATABASE_URL",
    "REDIS_URL",
    "SMTP_",
    "SMS_",
    "STRIPE_",
    "MAILSINK_",
    "SMSSINK_",
    "CHECKOUT_",
)

ADMIN_EMAIL = "admin@e2e.example"
ADMIN_PASSWORD = "correct horse battery staple"


def make_platform(engines: TestEngines, tmp: Path, **env: str) -> Platform:
    main_url = asyncio.run(engines.create_database("e2e_main"))
    creds_url = asyncio.run(engines.create_database("e2e_creds"))
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(NOT_INHERITED)}
    base_env.update(
        {
            "ENVIRONMENT": "test",
            "DATABASE_URL": main_url,
            "CREDS_DATABASE_URL": creds_url,
            "REDIS_URL": engines.redis_url.rsplit("/", 1)[0] + f"/{next(_redis_db) % 16}",
            "BCRYPT_ROUNDS": "4",
            "LOG_LEVEL": "WARNING",
        }
    )
    base_env.update(env)
    return Platform(data_dir=tmp, env=base_env, free_ports=True, log_dir=tmp / "logs")


@pytest.fixture(scope="session")
def admin_credentials() -> tuple[str, str]:
    return ADMIN_EMAIL, ADMIN_PASSWORD


@pytest.fixture(scope="module")
def platform(
    engines: TestEngines, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Platform]:
    """One started platform per test module; a module may set `PLATFORM_ENV = {...}` to override settings."""
    tmp = tmp_path_factory.mktemp("platform")
    running = make_platform(engines, tmp, **getattr(request.module, "PLATFORM_ENV", {}))
    try:
        running.start(admin_email=ADMIN_EMAIL, admin_password=ADMIN_PASSWORD)
    except Exception:
        running.stop()
        for log in sorted((tmp / "logs").glob("*.log")):
            print(f"--- {log.name}\n{log.read_text()[-3000:]}")
        raise
    yield running
    running.stop()
