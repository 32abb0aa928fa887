"""Fault-test fixtures: ONE platform of real processes with its own embedded PostgreSQL and Redis
(never the session-wide engines, since these tests stop and freeze them), shared by every fault
test, and put back to "everything up and ready" before each test."""
from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from faultkit import ADMIN_EMAIL, ADMIN_PASSWORD, admin_token, log_tails, make_fault_platform, restore  # noqa: E402

from mcm_shared.devstack.platform import Platform  # noqa: E402


@pytest.fixture(scope="session")
def fault_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    running = make_fault_platform(tmp_path_factory.mktemp("fault"))
    try:
        running.start(admin_email=ADMIN_EMAIL, admin_password=ADMIN_PASSWORD)
    except Exception:
        print(log_tails(running))
        running.stop()
        raise
    yield running
    restore_quietly(running)
    running.stop()


def restore_quietly(platform: Platform) -> None:
    from faultkit import resume

    resume(platform)  # a frozen process would ignore the SIGTERM of stop()


@pytest.fixture
def platform(fault_platform: Platform, request: pytest.FixtureRequest) -> Iterator[Platform]:
    restore(fault_platform)
    yield fault_platform
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        print(log_tails(fault_platform))
    restore_quietly(fault_platform)


@pytest.fixture
def token(platform: Platform) -> str:
    """An admin's access token (the first admin may create circles)."""
    return admin_token(platform)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
