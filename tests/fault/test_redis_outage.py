"""Redis stopped, then hung: reads keep working, credential endpoints (login, register, refresh)
answer a fast 503 (the gateway's credential limits and auth's sign-in limits live in Redis, and
both refuse rather than let attempts through unthrottled), nothing waits past the socket timeout,
readiness says 503 everywhere, and everything recovers by itself.
"""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest
from faultkit import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    DEPENDENCY_TIMEOUT_SECONDS,
    SERVICE_NAMES,
    USER_PASSWORD,
    Outcome,
    Traffic,
    call,
    describe,
    is_problem_503,
    new_email,
    ready_status,
    wait_until,
)

from mcm_devstack.platform import Platform

ANSWER_WITHIN = DEPENDENCY_TIMEOUT_SECONDS + 1.0  # the Redis socket timeout plus a margin
READS = ("read circles", "read me")
CREDENTIALS = ("login", "register")


class Steps:
    def __init__(self, gateway: str, token: str) -> None:
        self.gateway = gateway
        self.auth = {"Authorization": f"Bearer {token}"}
        self.registered: list[str] = []

    def read_circles(self, client: httpx.Client) -> Outcome:
        return call(client, "GET", f"{self.gateway}/api/v1/circles", "read circles", headers=self.auth)

    def read_me(self, client: httpx.Client) -> Outcome:
        return call(client, "GET", f"{self.gateway}/api/v1/auth/me", "read me", headers=self.auth)

    def login(self, client: httpx.Client) -> Outcome:
        body = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        return call(client, "POST", f"{self.gateway}/api/v1/auth/login", "login", json=body)

    def register(self, client: httpx.Client) -> Outcome:
        email = new_email("redis")
        body = {"email": email, "password": USER_PASSWORD, "display_name": "Outage"}
        outcome = call(client, "POST", f"{self.gateway}/api/v1/auth/register", "register", json=body)
        if outcome.status == 201:
            self.registered.append(email)
        return outcome


def check_degraded(platform: Platform, traffic: Traffic, steps: Steps, start: float, end: float, phase: str) -> None:
    during = traffic.between(start, end)
    reads = [o for o in during if o.label in READS]
    assert reads and all(o.status == 200 for o in reads), f"{phase}: reads must keep working:\n" + describe(
        o for o in reads if o.status != 200
    )
    credentials = [o for o in during if o.label in CREDENTIALS]
    assert credentials and all(is_problem_503(o) for o in credentials), (
        f"{phase}: credential endpoints answer a 503 problem without Redis:\n"
        + describe(o for o in credentials if not is_problem_503(o))
    )
    for name in SERVICE_NAMES:
        live = httpx.get(f"{platform.url(name)}/api/v1/health/live", timeout=3)
        assert live.status_code == 200, (phase, name, live.status_code)


@pytest.mark.timeout(150)
def test_redis_down_or_hung_degrades_gracefully_and_recovers(platform: Platform, token: str) -> None:
    redis_server = platform.redis
    assert redis_server is not None, "the fault platform runs its own Redis"
    pids = {name: platform.processes[name].pid for name in SERVICE_NAMES}
    steps = Steps(platform.url("gateway"), token)
    refresh_token = httpx.post(
        f"{platform.url('gateway')}/api/v1/auth/login",
        json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
        timeout=10,
    ).json()["refresh_token"]

    with Traffic([steps.read_circles, steps.login, steps.read_me, steps.register], workers=4, timeout=15) as traffic:
        time.sleep(1.0)

        # 1. Redis stopped: the port is closed, every Redis call fails at once.
        redis_server.stop()
        stopped = time.monotonic()
        assert wait_until(lambda: all(ready_status(platform, n) == 503 for n in SERVICE_NAMES), timeout=5.0), {
            n: ready_status(platform, n) for n in SERVICE_NAMES
        }
        # Refresh is a credential endpoint too: the gateway's exact limits for those live in Redis
        # and refuse with 503 rather than let them through unchecked (mcm_gateway/ratelimit).
        with httpx.Client(timeout=10) as client:
            refreshed = call(
                client,
                "POST",
                f"{platform.url('gateway')}/api/v1/auth/refresh",
                "refresh",
                json={"refresh_token": refresh_token},
            )
        assert is_problem_503(refreshed) and refreshed.elapsed < ANSWER_WITHIN, str(refreshed)
        time.sleep(2.0)
        check_degraded(platform, traffic, steps, stopped + 0.5, time.monotonic(), "stopped")

        redis_server.start()  # same port, same append-only file: streams and groups survive
        assert wait_until(lambda: all(ready_status(platform, n) == 200 for n in SERVICE_NAMES), timeout=15.0), {
            n: ready_status(platform, n) for n in SERVICE_NAMES
        }
        back = time.monotonic()
        time.sleep(2.0)
        # Ready again means working again: every request sent since then succeeds.
        recovered = traffic.between(back, time.monotonic())
        assert recovered and all(o.status in (200, 201) for o in recovered), "after recovery:\n" + describe(
            o for o in recovered if o.status not in (200, 201)
        )

        # 2. Redis hung (frozen, port still open): calls time out after the socket timeout.
        assert redis_server.process is not None
        os.kill(redis_server.process.pid, signal.SIGSTOP)
        try:
            frozen = time.monotonic()
            assert wait_until(
                lambda: all(ready_status(platform, n) == 503 for n in SERVICE_NAMES), timeout=5.0 + ANSWER_WITHIN
            ), {n: ready_status(platform, n) for n in SERVICE_NAMES}
            time.sleep(3.0)
            check_degraded(platform, traffic, steps, frozen + ANSWER_WITHIN, time.monotonic(), "hung")
        finally:
            os.kill(redis_server.process.pid, signal.SIGCONT)
        thawed = time.monotonic()
        assert wait_until(lambda: all(ready_status(platform, n) == 200 for n in SERVICE_NAMES), timeout=15.0), {
            n: ready_status(platform, n) for n in SERVICE_NAMES
        }
        assert wait_until(lambda: steps.login(httpx.Client(timeout=10)).status == 200, timeout=10.0), (
            "login after Redis thawed"
        )
        time.sleep(0.5)

    outcomes = traffic.snapshot()
    bad = [o for o in outcomes if o.status not in (200, 201) and not is_problem_503(o)]
    assert not bad, "only 2xx or a 503 problem are acceptable:\n" + describe(bad)
    slow = [o for o in outcomes if o.elapsed > ANSWER_WITHIN]
    assert not slow, f"nothing may wait past the Redis socket timeout ({DEPENDENCY_TIMEOUT_SECONDS}s):\n" + describe(
        slow
    )
    assert {name: platform.processes[name].pid for name in SERVICE_NAMES} == pids, "a process was restarted"
    assert any(o.status == 200 for o in outcomes if o.started > thawed and o.label in CREDENTIALS + READS)

    with httpx.Client(base_url=platform.url("gateway"), timeout=10) as client:
        for email in steps.registered:
            login = client.post("/api/v1/auth/login", json={"email": email, "password": USER_PASSWORD})
            assert login.status_code == 200, (email, login.status_code, login.text)
