"""SIGTERM on each of the four processes while a slow request is in flight and a load loop runs
through the gateway (issue 8 item 4).

The slow request is a real one whose body trickles in over a raw socket (login on auth and on
the gateway, creating a circle on circles, a Stripe webhook on payments): the server has the
whole request head, so its handler is running and waiting for the body when the signal lands.
"""

from __future__ import annotations

import json
import signal
import threading
import time
import uuid

import httpx
import pytest
import redis
from faultkit import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    BACKENDS,
    USER_PASSWORD,
    Outcome,
    Traffic,
    TrickledRequest,
    call,
    circle_body,
    describe,
    new_email,
    stripe_event_body,
    stripe_signature,
    user_registered_fields,
    wait_ready,
    wait_routed,
    wait_until,
)

from mcm_devstack.platform import Platform

GRACE_SECONDS = 20  # timeout_graceful_shutdown of every process
GATEWAY_ROUTE = {"auth": "/api/v1/auth/me", "circles": "/api/v1/circles", "payments": "/api/v1/payments/obligations"}


def slow_request(platform: Platform, name: str, token: str) -> tuple[TrickledRequest, int]:
    """Start the slow request for `name`; return it and the status it must end with."""
    port = platform.ports[name]
    if name in ("auth", "gateway"):
        body = json.dumps({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).encode()
        return TrickledRequest(port, "POST", "/api/v1/auth/login", body), 200
    if name == "circles":
        body = json.dumps(circle_body()).encode()
        return TrickledRequest(port, "POST", "/api/v1/circles", body, {"Authorization": f"Bearer {token}"}), 201
    body = stripe_event_body()
    return TrickledRequest(
        port, "POST", "/api/v1/payments/webhooks/stripe", body, {"Stripe-Signature": stripe_signature(body)}
    ), 200


class EventFeed:
    """Keeps adding `user.registered` entries to auth's stream, so circles' consumer is busy
    reading and applying events when its SIGTERM arrives."""

    def __init__(self, redis_url: str) -> None:
        self.client = redis.Redis.from_url(redis_url)
        self.stop_flag = threading.Event()
        self.sent = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop_flag.is_set():
            self.client.xadd("events:auth", user_registered_fields(uuid.uuid4(), "Feed"))
            self.sent += 1
            time.sleep(0.005)

    def __enter__(self) -> EventFeed:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_flag.set()
        self.thread.join(5)


def consumers_of(client: redis.Redis, pid: int) -> dict[tuple[str, str], int]:
    """Pending entry counts of every consumer the process `pid` had, per (stream, group)."""
    found: dict[tuple[str, str], int] = {}
    for stream in client.scan_iter(match="events:*", _type="stream"):
        for group in client.xinfo_groups(stream):
            for consumer in client.xinfo_consumers(stream, group["name"]):
                name = consumer["name"].decode()
                if f"-{pid}-" in name:
                    found[(stream.decode(), group["name"].decode() + "/" + name)] = consumer["pending"]
    return found


class Load:
    """Requests through the gateway on fresh connections; remembers acknowledged sign-ups."""

    def __init__(self, gateway: str, token: str) -> None:
        self.gateway = gateway
        self.auth = {"Authorization": f"Bearer {token}"}
        self.registered: list[str] = []

    def steps(self):
        def circles(client: httpx.Client) -> Outcome:
            return call(client, "GET", f"{self.gateway}/api/v1/circles", "circles", headers=self.auth)

        def me(client: httpx.Client) -> Outcome:
            return call(client, "GET", f"{self.gateway}/api/v1/auth/me", "me", headers=self.auth)

        def payments(client: httpx.Client) -> Outcome:
            return call(client, "GET", f"{self.gateway}/api/v1/payments/obligations", "payments", headers=self.auth)

        def login(client: httpx.Client) -> Outcome:
            return call(
                client,
                "POST",
                f"{self.gateway}/api/v1/auth/login",
                "login",
                json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
            )

        def register(client: httpx.Client) -> Outcome:
            email = new_email("term")
            body = {"email": email, "password": USER_PASSWORD, "display_name": "Load"}
            outcome = call(client, "POST", f"{self.gateway}/api/v1/auth/register", "register", json=body)
            if outcome.status == 201:
                self.registered.append(email)
            return outcome

        return [circles, login, me, register, payments]


def acceptable_under_sigterm(outcome: Outcome, signalled: float, gateway_stopping: bool) -> bool:
    """Before the signal everything works; after it, a route of the stopping service may get
    502/503 from the gateway, and a stopping gateway may refuse connections. Never 500 or 504."""
    if outcome.status is not None and outcome.status < 500:
        return True
    if outcome.started + outcome.elapsed < signalled:
        return False
    if outcome.status in (502, 503):
        return True
    return gateway_stopping and outcome.refused


@pytest.mark.timeout(240)
@pytest.mark.parametrize("name", ["auth", "circles", "payments", "gateway"])
def test_sigterm_drains_in_flight_requests_under_load_and_exits_zero(platform: Platform, token: str, name: str) -> None:
    process = platform.processes[name]
    pid = process.pid
    base = platform.url(name)
    load = Load(platform.url("gateway"), token)
    traffic = Traffic(load.steps(), workers=3, fresh_connections=True).__enter__()
    feed = EventFeed(platform.env["REDIS_URL"]) if name == "circles" else None
    if feed:
        feed.__enter__()
        assert wait_until(lambda: feed.sent >= 50, timeout=10), "the event feed did not start"
    signalled = float("inf")
    try:
        request, expected = slow_request(platform, name, token)
        time.sleep(1.0)  # the server has read the head; its handler waits for the body (and
        # circles' consumer is busy with the event feed)

        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        probes = []
        with httpx.Client(timeout=2.0, limits=httpx.Limits(max_keepalive_connections=0)) as client:
            while time.monotonic() - signalled < 1.0:
                probes.append(call(client, "GET", f"{base}/api/v1/health/ready", "ready"))
                if len(probes) >= 3 and all(p.refused for p in probes[-3:]):
                    break
                time.sleep(0.02)
        print(f"{name}: readiness after SIGTERM: " + ", ".join(str(p.status or "refused") for p in probes))
        # Not ready from the first probe on: 503 while the listener is still open, then refused.
        assert probes and all(p.status == 503 or p.refused for p in probes), describe(probes)
        assert probes[0].started + probes[0].elapsed - signalled < 2.0, describe(probes)
        assert all(json.loads(p.body).get("status") == "draining" for p in probes if p.status == 503), describe(probes)

        status, body = request.finish()
        assert status == expected, (status, body[:300])
        answer = json.loads(body)
        if name in ("auth", "gateway"):
            assert answer["access_token"]
        elif name == "circles":
            assert answer["id"]
        assert process.poll() is None or process.returncode == 0

        returncode = process.wait(GRACE_SECONDS + 5)
        assert returncode == 0, f"{name} exited with {returncode} after SIGTERM"
        assert time.monotonic() - signalled < GRACE_SECONDS
        time.sleep(0.5)  # the load keeps going against the closed service
    finally:
        traffic.stop()
        if feed:
            feed.__exit__()

    outcomes = traffic.snapshot()
    assert any(o.started < signalled and o.status == 200 for o in outcomes), "the load loop never got going"
    bad = [o for o in outcomes if not acceptable_under_sigterm(o, signalled, name == "gateway")]
    assert not bad, f"SIGTERM on {name}: unacceptable answers under load:\n" + describe(bad)

    # Closed: new connections are refused (never a 5xx from a half-dead process) ...
    with httpx.Client(timeout=3) as client:
        after = call(client, "GET", f"{base}/api/v1/health/live", "live after exit")
    assert after.refused, str(after)
    # ... and the gateway answers for the missing service quickly with 502/503.
    if name in GATEWAY_ROUTE:
        with httpx.Client(timeout=10) as client:
            routed = call(
                client,
                "GET",
                platform.url("gateway") + GATEWAY_ROUTE[name],
                headers={"Authorization": f"Bearer {token}"},
            )
        assert routed.status in (502, 503) and routed.elapsed < 3.0, str(routed)
    left_pending: dict[tuple[str, str], int] = {}
    if name == "circles":
        consumers = consumers_of(redis.Redis.from_url(platform.env["REDIS_URL"]), pid)
        print(f"circles consumers after SIGTERM (pending): {consumers}; events fed: {feed.sent if feed else 0}")
        assert consumers, "circles' consumers never registered in Redis"
        left_pending = {key: count for key, count in consumers.items() if count}

    platform.start_service(name)
    wait_ready(platform, [name])
    wait_routed(platform, BACKENDS)
    if left_pending:
        # Nothing read may be lost: an entry the stopped consumer left pending (a handler that
        # failed while the process shut down is retried, by design) is claimed and handled by
        # the restarted consumer once idle for claim_idle (30 s). Why one is sometimes left at
        # all is still open (noted in the stop's closing note); this holds the no-loss promise.
        client = redis.Redis.from_url(platform.env["REDIS_URL"])
        streams_groups = {(stream, key.split("/", 1)[0]) for stream, key in left_pending}

        def all_handled() -> bool:
            return all(client.xpending(stream, group)["pending"] == 0 for stream, group in streams_groups)

        assert wait_until(all_handled, timeout=60), f"entries left pending were never handled: {left_pending}"
    with httpx.Client(base_url=platform.url("gateway"), timeout=10) as client:
        for email in load.registered:  # every acknowledged sign-up survived the shutdown
            login = client.post("/api/v1/auth/login", json={"email": email, "password": USER_PASSWORD})
            assert login.status_code == 200, (email, login.status_code, login.text)
