"""An upstream killed or hung behind the gateway: its routes fail fast with the right status
(502/503 when nothing listens, 504 at the configured upstream timeout when it hangs) while the
other services' routes keep working, and everything comes back without touching the gateway."""

from __future__ import annotations

import os
import signal

import httpx
import pytest
from faultkit import ADMIN_EMAIL, ADMIN_PASSWORD, UPSTREAM_TIMEOUT_SECONDS, call, wait_ready, wait_until

from mcm_devstack.platform import Platform


def other_routes_work(client: httpx.Client, headers: dict[str, str]) -> None:
    me = call(client, "GET", "/api/v1/auth/me", headers=headers)
    assert me.status == 200 and me.elapsed < 2.0, str(me)
    login = call(client, "POST", "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert login.status == 200 and login.elapsed < 2.0, str(login)


@pytest.mark.timeout(150)
def test_killed_then_hung_circles_behind_the_gateway(platform: Platform, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    gateway_pid = platform.processes["gateway"].pid
    with httpx.Client(base_url=platform.url("gateway"), timeout=15) as client:
        assert client.get("/api/v1/circles", headers=headers).status_code == 200

        # Killed: nothing listens any more.
        platform.stop_service("circles", signal.SIGKILL)
        for _ in range(6):  # the first attempts find the port closed, then the circuit is open
            answer = call(client, "GET", "/api/v1/circles", headers=headers)
            assert answer.status in (502, 503) and answer.elapsed < 2.0, str(answer)
            assert answer.content_type.startswith("application/problem+json"), str(answer)
        other_routes_work(client, headers)

        platform.start_service("circles")
        wait_ready(platform, ["circles"])
        assert wait_until(lambda: client.get("/api/v1/circles", headers=headers).status_code == 200, timeout=10), (
            "gateway did not recover"
        )

        # Hung: the process holds its port but answers nothing.
        pid = platform.processes["circles"].pid
        os.kill(pid, signal.SIGSTOP)
        try:
            hung = call(client, "GET", "/api/v1/circles", headers=headers)
            assert hung.status == 504, str(hung)
            assert hung.content_type.startswith("application/problem+json"), str(hung)
            assert UPSTREAM_TIMEOUT_SECONDS - 0.2 <= hung.elapsed < UPSTREAM_TIMEOUT_SECONDS + 1.5, str(hung)
            other_routes_work(client, headers)
            write = call(client, "POST", "/api/v1/circles", headers=headers, json={"name": "Never answered"})
            assert write.status == 504 and write.elapsed < UPSTREAM_TIMEOUT_SECONDS + 1.5, str(write)
        finally:
            os.kill(pid, signal.SIGCONT)
        assert wait_until(lambda: client.get("/api/v1/circles", headers=headers).status_code == 200, timeout=10), (
            "no recovery after SIGCONT"
        )

    assert platform.processes["gateway"].pid == gateway_pid and platform.processes["gateway"].poll() is None
