"""Fault-test fixtures: ONE platform of real processes with its own embedded PostgreSQL and Redis
(never the session-wide engines, since these tests stop and freeze them), shared by every fault
test, and put back to "everything up and ready" before each test."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from faultkit import ADMIN_EMAIL, ADMIN_PASSWORD, admin_token, log_tails, make_fault_platform, restore, resume

from mcm_devstack.platform import Platform

HERE = Path(__file__).parent
_started: list[Platform] = []


def _stop(platform: Platform) -> None:
    resume(platform)  # a frozen process would not act on the SIGTERM of stop()
    platform.stop()


@pytest.fixture(scope="session")
def fault_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    running = make_fault_platform(tmp_path_factory.mktemp("fault"))
    try:
        running.start(admin_email=ADMIN_EMAIL, admin_password=ADMIN_PASSWORD)
    except Exception:
        print(log_tails(running))
        running.stop()
        raise
    _started.append(running)
    yield running
    _stop(running)


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Stop the fault platform after the last fault test rather than at the end of the whole
    session, so the tests that follow do not share the machine with it."""
    if _started and (nextitem is None or HERE not in Path(nextitem.path).parents):
        _stop(_started.pop())


@pytest.fixture
def platform(fault_platform: Platform, request: pytest.FixtureRequest) -> Iterator[Platform]:
    restore(fault_platform)
    yield fault_platform
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        print(log_tails(fault_platform))
    resume(fault_platform)


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
