"""End-to-end fixtures: the real processes (gateway + services, and the mail sink, SMS sink and
Stripe stand-in that `make run` starts) on free ports, on the session's PostgreSQL and Redis,
each platform with fresh databases and its own Redis database number."""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
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
    _wait_until_sign_ins_are_checked(running)
    yield running
    running.stop()


def _wait_until_sign_ins_are_checked(platform: Platform, timeout: float = 30.0) -> None:
    """Ready is not yet able to verify a token: a service whose first fetch of auth's keys ran
    before auth answered retries once a second and answers 503 ("retry shortly") meanwhile
    (mcm_shared.security.jwks). Journeys start once every service behind the gateway takes one."""
    probes = ("/api/v1/circles", "/api/v1/payments/obligations", "/api/v1/conversations")
    deadline = time.monotonic() + timeout
    # From an address of its own, so this sign-in never counts against a journey's rate limits.
    transport = httpx.HTTPTransport(local_address="127.0.0.9")
    with httpx.Client(base_url=platform.url("gateway"), timeout=10, trust_env=False, transport=transport) as http:
        login = http.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        login.raise_for_status()
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        pending = list(probes)
        while pending:
            pending = [path for path in pending if http.get(path, headers=headers).status_code in (502, 503, 504)]
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"the platform does not check sign-ins after {timeout}s: {pending}")
            if pending:
                time.sleep(0.2)
