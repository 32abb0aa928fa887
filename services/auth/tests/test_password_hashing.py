"""Password hashing under load: no database connection is held while bcrypt runs, hashing is
bounded by PASSWORD_HASH_CONCURRENCY on threads of its own, a queue longer than
PASSWORD_HASH_QUEUE_TIMEOUT_SECONDS answers 503, and a stale read never grants anything
(benchmark scenario (e), docs/benchmarks.md)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import anyio.to_thread
import pytest
from fastapi import Request
from sqlalchemy import text

from mcm_auth.security import passwords
from mcm_auth.security.passwords import THREAD_NAME_PREFIX, HashingBusy, PasswordHasher
from mcm_shared.wiring import get_session

from .conftest import PASSWORD, bearer, login, new_email, register, signed_up
from .test_passwords import confirm, request_reset, reset_token

NEW_PASSWORD = "a brand new password"


class HashProbe:
    """Wraps the bcrypt functions a hasher's threads run: counts calls and how many run at once,
    can make each take longer, and can run `during(call_number)` at the moment of hashing."""

    def __init__(
        self, hasher: PasswordHasher, *, extra_seconds: float = 0.0, during: Callable[[int], None] | None = None
    ) -> None:
        self.extra_seconds = extra_seconds
        self.during = during
        self.lock = threading.Lock()
        self.calls = self.running = self.max_running = 0
        self.threads: set[str] = set()
        for name in ("_hash_sync", "_verify_sync"):
            setattr(hasher, name, self._wrap(getattr(hasher, name)))

    def _wrap(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any) -> Any:
            with self.lock:
                self.calls += 1
                number = self.calls
                self.running += 1
                self.max_running = max(self.max_running, self.running)
                self.threads.add(threading.current_thread().name)
            try:
                if self.during is not None:
                    self.during(number)
                if self.extra_seconds:
                    time.sleep(self.extra_seconds)
                return original(*args)
            finally:
                with self.lock:
                    self.running -= 1

        return wrapped


def track_request_sessions(app) -> list:
    """The database sessions of the requests in flight (SessionDep, replaced by a recording copy)."""
    live: list = []

    async def tracked(request: Request):
        async with request.app.state.db.session() as session:
            live.append(session)
            try:
                yield session
            finally:
                live.remove(session)

    app.dependency_overrides[get_session] = tracked
    return live


def login_request(client, email: str, password: str = PASSWORD):
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


# -- 1. no transaction while hashing --------------------------------------------------------------


async def _flow(name: str, client, mail) -> tuple[Callable[[], Any], int]:
    """Set up one use case; returns the request that hashes and the status it must answer."""
    if name == "login":
        email = await register(client)
        return lambda: login_request(client, email), 200
    if name == "login with a wrong password":
        email = await register(client)
        return lambda: login_request(client, email, "not the password"), 401
    if name == "login with an unknown email":
        return lambda: login_request(client, new_email()), 401
    if name == "register":
        body = {"email": new_email(), "password": PASSWORD, "display_name": "Sam"}
        return lambda: client.post("/api/v1/auth/register", json=body), 201
    if name == "password change":
        _, tokens = await signed_up(client)
        body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
        return lambda: client.post("/api/v1/auth/password", json=body, headers=bearer(tokens)), 204
    if name == "password reset":
        email = await register(client)
        await request_reset(client, email)
        token = await reset_token(mail, email)
        return lambda: confirm(client, token), 204
    if name == "account deletion":
        _, tokens = await signed_up(client)
        return lambda: client.request(
            "DELETE", "/api/v1/auth/me", json={"password": PASSWORD}, headers=bearer(tokens)
        ), 204
    raise AssertionError(name)


@pytest.mark.parametrize(
    "flow",
    [
        "login",
        "login with a wrong password",
        "login with an unknown email",
        "register",
        "password change",
        "password reset",
        "account deletion",
    ],
)
async def test_no_transaction_is_open_while_a_password_is_hashed(client, mail, flow):
    action, expected = await _flow(flow, client, mail)
    live = track_request_sessions(client.app)
    seen: list[bool] = []
    HashProbe(client.app.state.runtime.hasher, during=lambda _: seen.append(any(s.in_transaction() for s in live)))
    response = await action()
    assert response.status_code == expected, response.text
    assert seen, "the use case hashed nothing"
    assert not any(seen), f"{flow}: a database transaction (a pooled connection) was held while bcrypt ran"


# -- 2. a small pool survives a burst of sign-ins -----------------------------------------------


async def test_thirty_concurrent_logins_share_a_pool_of_two_connections(app_client):
    settings = dict(
        database_pool_size=2, database_max_overflow=0, database_pool_timeout_seconds=2.0, password_hash_concurrency=4
    )
    async with app_client(**settings) as client:
        emails = [await register(client) for _ in range(30)]
        # Each check takes 0.3 s more: a login that kept its connection through it would hold one
        # of the two for 0.3 s, and the last of 30 would wait ~4.5 s for the pool (> 2 s: 503).
        probe = HashProbe(client.app.state.runtime.hasher, extra_seconds=0.3)
        responses = await asyncio.gather(*(login_request(client, email) for email in emails))
    statuses = [response.status_code for response in responses]
    assert statuses == [200] * 30, statuses
    assert probe.calls == 30
    assert probe.max_running <= 4


# -- 3. the limiter ---------------------------------------------------------------------------


async def test_no_more_hashes_run_at_once_than_password_hash_concurrency(app_client):
    async with app_client(password_hash_concurrency=2) as client:
        emails = [await register(client) for _ in range(8)]
        probe = HashProbe(client.app.state.runtime.hasher, extra_seconds=0.05)
        signups = [
            client.post(
                "/api/v1/auth/register", json={"email": new_email(), "password": PASSWORD, "display_name": "Sam"}
            )
            for _ in range(4)
        ]
        logins = [login_request(client, email) for email in emails] + [
            login_request(client, new_email()) for _ in range(4)
        ]
        responses = await asyncio.gather(*signups, *logins)
    assert [r.status_code for r in responses] == [201] * 4 + [200] * 8 + [401] * 4
    assert probe.calls == 16
    assert probe.max_running == 2, f"{probe.max_running} hashes ran at once with PASSWORD_HASH_CONCURRENCY=2"
    assert all(name.startswith(THREAD_NAME_PREFIX) for name in probe.threads), probe.threads


async def test_a_queue_longer_than_the_timeout_answers_503_with_retry_after(app_client):
    async with app_client(password_hash_concurrency=1, password_hash_queue_timeout_seconds=0.3) as client:
        email = await register(client)
        HashProbe(client.app.state.runtime.hasher, extra_seconds=0.6)
        responses = await asyncio.gather(*(login_request(client, email) for _ in range(3)))
        statuses = sorted(response.status_code for response in responses)
        assert statuses[0] == 200 and 503 in statuses, statuses
        busy = next(response for response in responses if response.status_code == 503)
        assert busy.headers["content-type"].startswith("application/problem+json")
        assert busy.json()["type"].endswith("/hashing-busy")
        assert int(busy.headers["Retry-After"]) >= 1
        await login(client, email)  # the slots of the shed requests were not lost


# -- 4. liveness while logins hash ------------------------------------------------------------


async def test_liveness_keeps_answering_while_twenty_logins_hash(app_client, record_property):
    async with app_client(bcrypt_rounds=10) as client:
        email = await register(client)  # a cost-10 hash: every check below spends one
        hasher = client.app.state.runtime.hasher
        probe = HashProbe(hasher)
        logins = asyncio.gather(*(login_request(client, email) for _ in range(20)))
        latencies: list[float] = []
        while_hashing = 0
        while not logins.done():
            started = time.perf_counter()
            live = await client.get("/api/v1/health/live")
            latencies.append((time.perf_counter() - started) * 1000)
            assert live.status_code == 200
            while_hashing += probe.running > 0
            await asyncio.sleep(0.02)
        responses = await logins
    assert [r.status_code for r in responses] == [200] * 20
    assert while_hashing >= 5, f"only {while_hashing} probes overlapped a hash"
    record_property("live_probes", len(latencies))
    record_property("live_max_ms", round(max(latencies), 1))
    print(
        f"\nliveness during 20 cost-10 logins ({hasher.concurrency} hashing threads): "
        f"{len(latencies)} probes, max {max(latencies):.1f} ms"
    )


# -- 5. a stale read grants nothing -----------------------------------------------------------


def hold_first_hash(started: threading.Event, go: threading.Event) -> Callable[[int], None]:
    def during(number: int) -> None:
        if number == 1:
            started.set()
            assert go.wait(10)

    return during


async def _while_checking(client, request, change_sql: str, **params: Any):
    """Run `request`; while its password check runs, apply `change_sql` to the account."""
    started, go = threading.Event(), threading.Event()
    HashProbe(client.app.state.runtime.hasher, during=hold_first_hash(started, go))
    task = asyncio.create_task(request())
    try:
        assert await asyncio.to_thread(started.wait, 10)
        async with client.app.state.db.session() as session:  # would block if the request held the row
            await asyncio.wait_for(session.execute(text(change_sql), params), 5)
            await session.commit()
    finally:
        go.set()
    return await task


async def test_an_account_disabled_during_the_password_check_is_not_signed_in(client):
    email = await register(client)
    response = await _while_checking(
        client,
        lambda: login_request(client, email),
        "UPDATE auth.users SET disabled_at = now() WHERE email = :e",
        e=email,
    )
    assert response.status_code == 403, response.text


async def test_a_password_changed_during_the_check_does_not_sign_in_with_the_old_one(client):
    email = await register(client)
    other_hash = await client.app.state.runtime.hasher.hash(NEW_PASSWORD)
    response = await _while_checking(
        client,
        lambda: login_request(client, email),
        "UPDATE auth.users SET password_hash = :h WHERE email = :e",
        h=other_hash,
        e=email,
    )
    assert response.status_code == 401, response.text
    await login(client, email, NEW_PASSWORD)


async def test_two_concurrent_password_changes_cannot_both_win(app_client):
    async with app_client(password_hash_concurrency=2) as client:
        email, first = await signed_up(client)
        second = await login(client, email)
        both_checking = threading.Barrier(2, timeout=5)
        HashProbe(client.app.state.runtime.hasher, during=lambda number: both_checking.wait() if number <= 2 else None)
        changes = [
            client.post(
                "/api/v1/auth/password",
                json={"current_password": PASSWORD, "new_password": new},
                headers=bearer(tokens),
            )
            for tokens, new in ((first, "first new password"), (second, "second new password"))
        ]
        responses = await asyncio.gather(*changes)
        assert sorted(r.status_code for r in responses) == [204, 401], [r.text for r in responses]
        winner = "first new password" if responses[0].status_code == 204 else "second new password"
        loser = "second new password" if winner == "first new password" else "first new password"
        await login(client, email, winner)
        assert (await login_request(client, email, loser)).status_code == 401


async def test_deletion_confirmed_with_a_password_changed_meanwhile_is_refused(client):
    email, tokens = await signed_up(client)
    other_hash = await client.app.state.runtime.hasher.hash(NEW_PASSWORD)
    response = await _while_checking(
        client,
        lambda: client.request("DELETE", "/api/v1/auth/me", json={"password": PASSWORD}, headers=bearer(tokens)),
        "UPDATE auth.users SET password_hash = :h WHERE email = :e",
        h=other_hash,
        e=email,
    )
    assert response.status_code == 401, response.text
    await login(client, email, NEW_PASSWORD)  # the account is still there


# -- 6. the hasher on its own -----------------------------------------------------------------


@pytest.fixture
def hasher():
    instance = PasswordHasher("pepper", 4, concurrency=1, queue_timeout=0.2)
    yield instance
    instance.close()


async def test_waiting_longer_than_the_queue_timeout_is_hashing_busy(hasher):
    HashProbe(hasher, extra_seconds=0.5)
    running = asyncio.create_task(hasher.hash(PASSWORD))
    await asyncio.sleep(0.05)
    with pytest.raises(HashingBusy) as busy:
        await hasher.verify(PASSWORD, None)
    assert busy.value.status == 503 and int(busy.value.headers["Retry-After"]) >= 1
    assert hasher.waiting == 0
    hashed = await running
    assert await hasher.verify(PASSWORD, hashed)  # the slot came back


async def test_a_caller_that_gives_up_keeps_its_slot_until_its_hash_is_done(hasher):
    hasher.queue_timeout = 5
    probe = HashProbe(hasher, extra_seconds=0.3)
    abandoned = asyncio.create_task(hasher.hash(PASSWORD))
    await asyncio.sleep(0.05)
    abandoned.cancel()
    await hasher.hash(PASSWORD)
    assert probe.calls == 2 and probe.max_running == 1


async def test_hashing_does_not_take_the_shared_worker_threads(hasher):
    hasher.queue_timeout = 5
    HashProbe(hasher, extra_seconds=0.3)
    queued = [asyncio.create_task(hasher.hash(PASSWORD)) for _ in range(3)]
    await asyncio.sleep(0.05)
    # Other to_thread work (mail, for one) runs at once while every hashing slot is taken.
    assert await anyio.to_thread.run_sync(threading.current_thread) is not None
    assert hasher.waiting == 2
    await asyncio.gather(*queued)


@pytest.mark.parametrize(
    ("cores", "limit", "expected"), [(1, None, 1), (2, None, 1), (8, None, 7), (16, 1.0, 1), (16, 2.5, 2)]
)
def test_default_concurrency_leaves_the_event_loop_a_core(monkeypatch, cores, limit, expected):
    monkeypatch.setattr(passwords.os, "sched_getaffinity", lambda pid: set(range(cores)))
    monkeypatch.setattr(passwords, "_cgroup_cpu_limit", lambda: limit)
    assert passwords.default_concurrency() == expected
