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

from seckit import Accounts, client, start_platform  # noqa: E402

from mcm_shared.devstack.platform import Platform  # noqa: E402

SECURITY_REDIS_DB = 15


@pytest.fixture(scope="session")
def security_platform(request, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    import os, json  # TEMP-DEV-HOOK
    if os.environ.get("SEC_REUSE"):  # TEMP-DEV-HOOK
        state = json.load(open(os.environ["SEC_REUSE"]))  # TEMP-DEV-HOOK
        p = Platform(data_dir=Path(state["data_dir"]), env=state["env"], free_ports=True, log_dir=Path(state["data_dir"]) / "logs")  # TEMP-DEV-HOOK
        p.ports = state["ports"]  # TEMP-DEV-HOOK
        yield p  # TEMP-DEV-HOOK
        return  # TEMP-DEV-HOOK
    engines = request.getfixturevalue("engines")  # TEMP-DEV-HOOK
    running = start_platform(engines, tmp_path_factory.mktemp("security"), redis_db=SECURITY_REDIS_DB)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def platform(security_platform: Platform) -> Platform:
    for name, process in security_platform.processes.items():  # TEMP-DEV-HOOK (processes empty when reused)
        assert process.poll() is None, f"{name} is not running (exit code {process.returncode})"
    return security_platform


@pytest.fixture(scope="module")
def accounts(platform: Platform) -> Accounts:
    return Accounts(platform)


@pytest.fixture
def gateway(platform: Platform):
    with client(platform.url("gateway")) as http:
        yield http
