"""Security-suite fixtures: ONE platform of real processes (gateway + services on free ports,
fresh databases on the session's PostgreSQL, its own Redis database) shared by every module of
this directory, so the suite pays for one start-up. Modules never share users; per-address
limits are kept apart by giving each client its own loopback source address (see seckit)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from seckit import Accounts, start_platform

from mcm_devstack.platform import Platform

SECURITY_REDIS_DB = 15


@pytest.fixture(scope="session")
def security_platform(engines, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    running = start_platform(engines, tmp_path_factory.mktemp("security"), redis_db=SECURITY_REDIS_DB)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def platform(security_platform: Platform) -> Platform:
    for name, process in security_platform.processes.items():
        assert process.poll() is None, f"{name} is not running (exit code {process.returncode})"
    return security_platform


@pytest.fixture(scope="module")
def accounts(platform: Platform) -> Accounts:
    return Accounts(platform)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The first test of the suite also starts the platform, and the authorisation matrix builds
    its objects in a fixture: allow more than the project's 120 s per test for that."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.timeout(600))
