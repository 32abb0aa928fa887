"""Request smuggling and response poisoning through the gateway, with raw sockets.

What an attacker review found on the gateway's former hand-written front server: an Upgrade
request's body was skipped while its Content-Length was forwarded, so a pooled upstream
connection went back to the pool owing bytes and swallowed the head of the next request on it
(a request hidden in a body reached a service unrouted; the next client got someone else's
answer); slow bodies held upstream connections; two Authorization headers were checked one way
and read another; trailers became headers; `gzip, chunked` passed as chunked.

Two views: the real platform's gateway (auth behind it), and a second gateway process whose
circles/payments upstream is a recorder on uvicorn + httptools (as the services run), so a test
sees every request an upstream parsed.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from seckit import Accounts, User, assert_problem, bearer, client, describe, fresh_source_ip

from mcm_testing.rawhttp import Reader, Recorder, connect, exchange, gateway_process, request


@pytest.fixture(scope="module")
def member(accounts: Accounts) -> User:
    return accounts.create(prefix="smuggle")


@pytest.fixture(scope="module")
def recorder() -> Iterator[Recorder]:
    upstream = Recorder().start()
    yield upstream
    upstream.stop()


@pytest.fixture(scope="module")
def recorded_gateway(platform, recorder: Recorder, tmp_path_factory) -> Iterator[str]:
    """A gateway whose auth is the real one and whose circles and payments are the recorder;
    short body deadlines so slow-body answers come quickly."""
    log = tmp_path_factory.mktemp("smuggling-gateway") / "gateway.log"
    with gateway_process(
        platform.env,
        log,
        AUTH_URL=platform.url("auth"),
        CIRCLES_URL=recorder.url,
        PAYMENTS_URL=recorder.url,
        BODY_IDLE_TIMEOUT_SECONDS="1",
        BODY_TIMEOUT_SECONDS="3",
    ) as url:
        yield url


def _canaries(url: str, token: str, count: int = 4) -> None:
    """Fresh connections, one request each: every answer must be the canary's own."""
    for n in range(count):
        path = f"/api/v1/circles/canary-{uuid.uuid4().hex[:8]}-{n}"
        answer = exchange(
            url,
            request("GET", path, [("authorization", f"Bearer {token}"), ("connection", "close")]),
            source_ip=fresh_source_ip(),
        )[0]
        assert answer is not None, f"canary {path} got no answer"
        assert answer.status == 200, (answer.status, answer.body[:300])
        assert answer.json()["path"] == path, f"canary {path} got another request's answer: {answer.body[:300]!r}"


# -- Upgrade with a body --------------------------------------------------------------------------
@pytest.mark.parametrize("upgrade", ["websocket", "h2c"])
def test_an_upgrade_request_with_a_body_cannot_smuggle_a_request_upstream(
    recorded_gateway: str, recorder: Recorder, member: User, upgrade: str
):
    token = member.token
    before = len(recorder.seen)
    owed = 3000
    # 1. An Upgrade request whose body the front end would skip, declaring `owed` bytes.
    poison = request(
        "GET",
        "/api/v1/circles/poison",
        [
            ("authorization", f"Bearer {token}"),
            ("connection", "Upgrade"),
            ("upgrade", upgrade),
            ("content-length", str(owed)),
        ],
        b"x" * owed,
    )
    with connect(recorded_gateway, source_ip=fresh_source_ip()) as sock:
        sock.sendall(poison)
        reader = Reader(sock)
        answer = reader.answer()
        assert answer is None or answer.status in (400, 426), (
            f"an Upgrade request was served: {answer and answer.status}"
        )
        assert reader.is_closed(wait=3.0), "the connection stayed open after a refused Upgrade request"
    # 2. A request whose body hides another request behind a CRLF sled: if an upstream connection
    # owed bytes, it swallows this head and parses the hidden request.
    hidden = b"GET /api/v1/circles/smuggled-past-the-gateway HTTP/1.1\r\nhost: x\r\n\r\n"
    body = b"\r\n" * 3000 + hidden
    carrier = request(
        "POST",
        "/api/v1/circles/carrier",
        [("authorization", f"Bearer {token}"), ("content-length", str(len(body))), ("connection", "close")],
        body,
    )
    answer = exchange(recorded_gateway, carrier, source_ip=fresh_source_ip())[0]
    assert answer is not None and answer.status == 200, answer
    assert answer.json()["path"] == "/api/v1/circles/carrier", (
        f"the carrier got another request's answer: {answer.body[:300]!r}"
    )
    _canaries(recorded_gateway, token)
    new = recorder.seen[before:]
    assert not [entry for entry in new if "smuggled" in entry["path"]], (
        "a request hidden in a body reached the upstream"
    )
    assert not [entry for entry in new if "poison" in entry["path"]], "the Upgrade request was forwarded"
    assert not recorder.framing_forwarded(), recorder.framing_forwarded()[:3]


def test_an_upgrade_request_cannot_poison_auths_pooled_connection(platform):
    """On the real platform: a public auth endpoint with Upgrade and an unsent body, then other
    clients' requests to auth: each must get its own answer (no 400 from a desynchronised auth)."""
    url = platform.url("gateway")
    for upgrade in ("h2c", "websocket"):
        poison = request(
            "GET",
            "/.well-known/jwks.json",
            [("connection", "Upgrade"), ("upgrade", upgrade), ("content-length", "1")],
            b"x",
        )
        answers = exchange(url, poison, source_ip=fresh_source_ip(), timeout=5)
        assert answers[0] is None or answers[0].status in (400, 426), answers[0]
        for _ in range(4):
            with client(url) as http:
                jwks = http.get("/.well-known/jwks.json")
                assert jwks.status_code == 200 and "keys" in jwks.json(), describe(jwks)


# -- slow bodies ------------------------------------------------------------------------------------
def test_slow_bodies_to_the_webhook_do_not_starve_other_payments_requests(platform, member: User):
    """300 connections send headers and one byte of a 100-byte body to the public Stripe webhook;
    meanwhile other clients' payments requests must all succeed, quickly."""
    url = platform.url("gateway")
    head = (
        request(
            "POST",
            "/api/v1/payments/webhooks/stripe",
            [("content-type", "application/json"), ("stripe-signature", "t=1,v1=00"), ("content-length", "100")],
        )
        + b"{"
    )
    sources = [fresh_source_ip() for _ in range(6)]  # 50 per address: under the per-client in-flight cap
    slow: list[socket.socket] = []
    try:
        for n in range(300):
            sock = connect(url, source_ip=sources[n % len(sources)])
            sock.sendall(head)
            slow.append(sock)
        time.sleep(1.0)  # let the gateway take them all in

        def payments_request(_: int) -> tuple[int, float]:
            started = time.monotonic()
            with client(url, timeout=15) as http:
                response = http.get("/api/v1/payments/obligations", headers=member.headers)
            return response.status_code, time.monotonic() - started

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(payments_request, range(40)))
        failed = [status for status, _ in results if status != 200]
        assert not failed, (
            f"{len(failed)} of {len(results)} payments requests failed while slow bodies were pending: {failed[:5]}"
        )
        slowest = max(seconds for _, seconds in results)
        assert slowest < 5.0, f"a payments request took {slowest:.1f} s while slow bodies were pending"
    finally:
        for sock in slow:
            sock.close()


def test_a_slow_body_is_cut_off_with_408(recorded_gateway: str, recorder: Recorder, member: User):
    before = len(recorder.seen)
    started = time.monotonic()
    with connect(recorded_gateway, source_ip=fresh_source_ip()) as sock:
        sock.sendall(
            request(
                "POST",
                "/api/v1/circles/slow-body",
                [("authorization", f"Bearer {member.token}"), ("content-length", "100")],
                b"{",
            )
        )
        reader = Reader(sock)
        answer = reader.answer()
        assert answer is not None and answer.status == 408, answer
        assert answer.header("content-type") == "application/problem+json"
        assert reader.is_closed(wait=2.0)
    assert time.monotonic() - started < 6.0  # idle deadline 1 s (+ sweep), total 3 s
    assert not [entry for entry in recorder.seen[before:] if entry["path"].endswith("slow-body")], (
        "a partial body was forwarded"
    )


# -- Authorization, trailers, transfer codings -------------------------------------------------------
def test_two_authorization_headers_are_refused(platform, member: User, accounts: Accounts):
    url = platform.url("gateway")
    for first, second in ((member.token, "garbage"), ("garbage", member.token), (member.token, accounts.admin.token)):
        answer = exchange(
            url,
            request(
                "GET",
                "/api/v1/auth/me",
                [("authorization", f"Bearer {first}"), ("authorization", f"Bearer {second}"), ("connection", "close")],
            ),
            source_ip=fresh_source_ip(),
        )[0]
        assert answer is not None and answer.status == 400, answer and (answer.status, answer.body[:200])
        assert answer.header("content-type") == "application/problem+json"


def test_request_trailers_never_become_headers(recorded_gateway: str, recorder: Recorder, member: User):
    before = len(recorder.seen)
    body = b"5\r\nhello\r\n0\r\nx-user-id: 00000000-0000-0000-0000-000000000001\r\nx-user-roles: admin\r\n\r\n"
    answer = exchange(
        recorded_gateway,
        request(
            "POST",
            "/api/v1/circles/trailers",
            [
                ("authorization", f"Bearer {member.token}"),
                ("transfer-encoding", "chunked"),
                ("trailer", "x-user-id"),
                ("connection", "close"),
            ],
            body,
        ),
        source_ip=fresh_source_ip(),
    )[0]
    assert answer is not None and answer.status == 400, answer and (answer.status, answer.body[:200])
    assert answer.header("content-type") == "application/problem+json"
    leaked = [
        entry
        for entry in recorder.seen[before:]
        if "x-user-id" in entry["headers"] or "x-user-roles" in entry["headers"]
    ]
    assert not leaked, leaked


@pytest.mark.parametrize("coding", ["gzip, chunked", "deflate, chunked", "x-custom, chunked"])
def test_transfer_codings_other_than_chunked_are_refused(
    recorded_gateway: str, recorder: Recorder, member: User, coding: str
):
    before = len(recorder.seen)
    body = b"5\r\nhello\r\n0\r\n\r\n"
    answer = exchange(
        recorded_gateway,
        request(
            "POST",
            "/api/v1/circles/codings",
            [("authorization", f"Bearer {member.token}"), ("transfer-encoding", coding), ("connection", "close")],
            body,
        ),
        source_ip=fresh_source_ip(),
    )[0]
    assert answer is not None and answer.status == 501, answer and (answer.status, answer.body[:200])
    assert not [entry for entry in recorder.seen[before:] if entry["path"].endswith("codings")]


def test_upgrade_requests_are_refused_and_the_connection_closed(platform, member: User):
    url = platform.url("gateway")
    h2c = request(
        "GET",
        "/api/v1/auth/me",
        [
            ("authorization", f"Bearer {member.token}"),
            ("connection", "Upgrade, HTTP2-Settings"),
            ("upgrade", "h2c"),
            ("http2-settings", "AAMAAABkAAQAAP__"),
        ],
    )
    with connect(url, source_ip=fresh_source_ip()) as sock:
        sock.sendall(h2c)
        reader = Reader(sock)
        answer = reader.answer()
        assert answer is not None and answer.status in (400, 426), answer and (answer.status, answer.body[:200])
        assert answer.header("content-type") == "application/problem+json"
        assert reader.is_closed(wait=2.0)
    websocket = request(
        "GET",
        "/api/v1/auth/me",
        [
            ("authorization", f"Bearer {member.token}"),
            ("connection", "Upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("sec-websocket-version", "13"),
        ],
    )
    with connect(url, source_ip=fresh_source_ip()) as sock:
        sock.sendall(websocket)
        reader = Reader(sock)
        answer = reader.answer()
        assert answer is None or answer.status not in (101, 200), (answer.status, answer.body[:200])
        assert reader.is_closed(wait=2.0)
    with client(url) as http:  # and the gateway still serves everyone else
        assert http.get("/api/v1/auth/me", headers=bearer(member.token)).status_code == 200
        assert_problem(http.get("/api/v1/auth/me"), 401)
