"""Fuzzing fixtures: one platform of real processes for the fuzz module (fresh databases, its own
Redis database), with the sign-in throttles lifted — fuzzing sends thousands of requests from one
machine and must exercise the endpoints, not the limits (tests/security tests the limits) — and
long-lived access tokens so a long `make fuzz` run keeps its identities."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "security"))

from seckit import start_platform

from mcm_devstack.platform import Platform

FUZZ_REDIS_DB = 14
UNLIMITED = "1000000000"


@pytest.fixture(scope="module")
def platform(engines, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    running = start_platform(
        engines,
        tmp_path_factory.mktemp("fuzz"),
        redis_db=FUZZ_REDIS_DB,
        ACCESS_TOKEN_TTL_SECONDS="86400",
        LOGIN_MAX_ATTEMPTS_PER_IP=UNLIMITED,
        LOGIN_MAX_FAILURES_PER_ACCOUNT=UNLIMITED,
        LOGIN_MAX_FAILURES_PER_CLIENT=UNLIMITED,
        REGISTER_MAX_PER_IP=UNLIMITED,
        RATE_LIMIT_CREDENTIAL_PER_MINUTE=UNLIMITED,
        RATE_LIMITS_ENABLED="false",
        VERIFICATION_SENDS_PER_HOUR=UNLIMITED,
        SMS_PER_NUMBER_PER_HOUR=UNLIMITED,
        SMS_PER_ACCOUNT_PER_HOUR=UNLIMITED,
        VERIFICATION_RESEND_COOLDOWN_SECONDS="1",
        REMINDER_COOLDOWN_SECONDS="0",
    )
    yield running
    running.stop()
