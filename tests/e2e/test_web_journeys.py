"""The web app's browser journeys (web/e2e, Playwright in Debian's Chromium) against the real
platform started as `make run` starts it (the gateway serving web/dist, the mail sink).

Playwright's test runner (Node) drives the browser: the journeys are written in TypeScript next
to the app they test, and Playwright for Node drives an installed Chromium via `executablePath`
without downloading one. This test only starts the platform, builds the app when its sources
changed (as `make run` does) and runs them.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from mcm_devstack.platform import Platform
from mcm_devstack.webbuild import WEB_DIR, ensure_built, needs_install

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture(scope="module")
def web_built() -> None:
    if shutil.which("npm") is None or not os.path.exists(CHROMIUM):
        pytest.fail("the web journeys need Node (npm) and Chromium (apt-get install chromium)")
    if needs_install(WEB_DIR):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=WEB_DIR, check=True)
    ensure_built(WEB_DIR)


@pytest.mark.timeout(900)  # the fixtures start the platform and may build the app: minutes on 2 cores
def test_the_member_account_journey_in_a_browser(web_built: None, platform: Platform) -> None:
    store = platform.sidecars["mailsink"].store
    env = {**os.environ, "WEB_BASE_URL": platform.url("gateway"), "MAIL_STORE": str(store), "CHROMIUM_PATH": CHROMIUM}
    result = subprocess.run(
        ["npx", "playwright", "test"], cwd=WEB_DIR, env=env, capture_output=True, text=True, timeout=280
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
