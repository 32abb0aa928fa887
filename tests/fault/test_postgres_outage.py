"""PostgreSQL stopped and started again under traffic: fast 503 problems while it is down, never a
500 or a hang, readiness follows it, recovery without restarting anything, no acknowledged write
lost."""

from __future__ import annotations

import time

import httpx
import pytest
from faultkit import (
    BACKENDS,
    SERVICE_NAMES,
    USER_PASSWORD,
    Outcome,
    Traffic,
    call,
    circle_body,
    describe,
    is_problem_503,
    new_email,
    ready_status,
    wait_until,
)

from mcm_devstack.platform import Platform

ANSWER_WITHIN = 3.0  # seconds; the database connect timeout is 2 s


class Writes:
    """Traffic steps through the gateway; remembers every write the platform acknowledged."""

    def __init__(self, gateway: str, token: str) -> None:
        self.gateway = gateway
        self.auth = {"Authorization": f"Bearer {token}"}
        self.registered: list[str] = []
        self.circles: list[str] = []

    def read_circles(self, client: httpx.Client) -> Outcome:
        return call(client, "GET", f"{self.gateway}/api/v1/circles", "read circles", headers=self.auth)

    def read_me(self, client: httpx.Client) -> Outcome:
        return call(client, "GET", f"{self.gateway}/api/v1/auth/me", "read me", headers=self.auth)

    def register(self, client: httpx.Client) -> Outcome:
        email = new_email("pg")
        body = {"email": email, "password": USER_PASSWORD, "display_name": "Outage"}
        outcome = call(client, "POST", f"{self.gateway}/api/v1/auth/register", "register", json=body)
        if outcome.status == 201:
            self.registered.append(email)
        return outcome

    def create_circle(self, client: httpx.Client) -> Outcome:
        outcome = call(
            client, "POST", f"{self.gateway}/api/v1/circles", "create circle", headers=self.auth, json=circle_body()
        )
        if outcome.status == 201:
            self.circles.append(outcome.json()["id"])
        return outcome

    def steps(self):
        return [self.read_circles, self.register, self.read_me, self.create_circle]


def assert_alive(platform: Platform) -> None:
    for name in SERVICE_NAMES:
        live = httpx.get(f"{platform.url(name)}/api/v1/health/live", timeout=3)
        assert live.status_code == 200, (name, live.status_code)


@pytest.mark.timeout(150)
def test_postgres_down_gives_fast_503s_and_recovers_without_losing_writes(platform: Platform, token: str) -> None:
    postgres = platform.postgres
    assert postgres is not None, "the fault platform runs its own PostgreSQL"
    pids = {name: platform.processes[name].pid for name in SERVICE_NAMES}
    writes = Writes(platform.url("gateway"), token)

    with Traffic(writes.steps(), workers=3) as traffic:
        time.sleep(1.5)
        postgres.stop()  # fast shutdown: connections are cut, the port closes
        stopped = time.monotonic()

        # Readiness follows the database within 5 s; liveness never does; the gateway has no database.
        assert wait_until(lambda: all(ready_status(platform, n) == 503 for n in BACKENDS), timeout=5.0), {
            n: ready_status(platform, n) for n in BACKENDS
        }
        assert_alive(platform)
        assert ready_status(platform, "gateway") == 200

        time.sleep(2.0)
        assert_alive(platform)
        postgres.start()  # same data directory, same port
        restarted = time.monotonic()
        assert wait_until(lambda: all(ready_status(platform, n) == 200 for n in BACKENDS), timeout=20.0), {
            n: ready_status(platform, n) for n in BACKENDS
        }
        recovered = time.monotonic()
        time.sleep(1.5)

    outcomes = traffic.snapshot()
    bad = [o for o in outcomes if o.status not in (200, 201) and not is_problem_503(o)]
    assert not bad, "only 2xx or a 503 problem are acceptable:\n" + describe(bad)
    slow = [o for o in outcomes if o.elapsed > ANSWER_WITHIN]
    assert not slow, "answers must come fast while the database is down:\n" + describe(slow)

    down = [o for o in outcomes if stopped + 0.5 <= o.started < restarted]
    for label in ("read circles", "read me", "register", "create circle"):
        assert any(o.label == label and o.status == 503 for o in down), (
            f"{label} never saw the outage:\n{describe(down)}"
        )
    assert any(o.status in (200, 201) for o in outcomes if o.started >= recovered), "no success after recovery"
    assert {name: platform.processes[name].pid for name in SERVICE_NAMES} == pids, "a process was restarted"
    assert all(platform.processes[name].poll() is None for name in SERVICE_NAMES)

    # Nothing acknowledged was lost: every 201 is there after the restart.
    assert writes.registered and writes.circles
    with httpx.Client(base_url=platform.url("gateway"), timeout=10) as client:
        for email in writes.registered:
            login = client.post("/api/v1/auth/login", json={"email": email, "password": USER_PASSWORD})
            assert login.status_code == 200, (email, login.status_code, login.text)
        for circle_id in writes.circles:
            found = client.get(f"/api/v1/circles/{circle_id}", headers=writes.auth)
            assert found.status_code == 200, (circle_id, found.status_code, found.text)
