"""SIGTERM on each of the four processes while a slow request is in flight (issue 8 item 4).

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
    TrickledRequest,
    call,
    circle_body,
    describe,
    stripe_event_body,
    stripe_signature,
    user_registered_fields,
)
from mcm_shared.devstack.platform import Platform

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
    return TrickledRequest(port, "POST", "/api/v1/payments/webhooks/stripe", body, {"Stripe-Signature": stripe_signature(body)}), 200


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


@pytest.mark.timeout(150)
@pytest.mark.parametrize("name", ["auth", "circles", "payments", "gateway"])
def test_sigterm_drains_in_flight_request_and_exits_zero(platform: Platform, token: str, name: str) -> None:
    process = platform.processes[name]
    pid = process.pid
    base = platform.url(name)
    feed = EventFeed(platform.env["REDIS_URL"]) if name == "circles" else None
    if feed:
        feed.__enter__()
        time.sleep(0.5)  # the consumer is now reading and applying a steady flow of events
    try:
        request, expected = slow_request(platform, name, token)
        time.sleep(1.0)  # the server has read the head; its handler waits for the body

        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        probes = []
        with httpx.Client(timeout=2.0, limits=httpx.Limits(max_keepalive_connections=0)) as client:
            while time.monotonic() - signalled < 1.0:
                probes.append(call(client, "GET", f"{base}/api/v1/health/ready", "ready"))
                if len(probes) >= 3 and all(p.refused for p in probes[-3:]):
                    break
                time.sleep(0.02)
        # Not ready from the first probe on: 503 while the listener is still open, then refused.
        assert probes and all(p.status == 503 or p.refused for p in probes), describe(probes)
        assert probes[0].started + probes[0].elapsed - signalled < 1.0, describe(probes)
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
    finally:
        if feed:
            feed.__exit__()

    # Closed: new connections are refused (never a 5xx from a half-dead process) ...
    after = call(httpx.Client(timeout=3), "GET", f"{base}/api/v1/health/live", "live after exit")
    assert after.refused, str(after)
    # ... and the gateway answers for the missing service quickly with 502/503.
    if name in GATEWAY_ROUTE:
        with httpx.Client(timeout=10) as client:
            routed = call(client, "GET", platform.url("gateway") + GATEWAY_ROUTE[name], headers={"Authorization": f"Bearer {token}"})
        assert routed.status in (502, 503) and routed.elapsed < 3.0, str(routed)
    if name == "circles":
        client = redis.Redis.from_url(platform.env["REDIS_URL"])
        consumers = consumers_of(client, pid)
        assert consumers, "circles' consumers never registered in Redis"
        assert all(pending == 0 for pending in consumers.values()), f"left pending by the stopped consumer: {consumers}"

    platform.start_service(name)  # the next test's fixture waits for it to be ready
