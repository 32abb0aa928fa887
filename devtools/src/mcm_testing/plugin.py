"""pytest plugin loaded by the root conftest: engines for the whole session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from mcm_testing.engines import TestEngines, start_test_engines

os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")  # noqa: S108  # where the tools look when unset


@pytest.fixture(scope="session")
def engines() -> Iterator[TestEngines]:
    started = start_test_engines()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="session")
def redis_url(engines: TestEngines) -> str:
    return engines.redis_url
