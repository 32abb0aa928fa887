"""Helpers for the fault tests: a platform with its own engines, HTTP outcomes with timings, a
request whose body trickles in over a raw socket, a background traffic loop, and a few Redis
and PostgreSQL probes. Everything talks to 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import shutil
import signal
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from mcm_devstack.platform import SERVICES, Platform
from mcm_shared.events.envelope import Envelope
from mcm_testing import rawhttp

ADMIN_EMAIL = "admin@fault.example"
ADMIN_PASSWORD = "correct horse battery staple"
USER_PASSWORD = "a long enough password"
STRIPE_WEBHOOK_SECRET = "whsec_fault_tests_only"
UPSTREAM_TIMEOUT_SECONDS = 2.0  # the gateway's CIRCLES_TIMEOUT_SECONDS in these tests
DEPENDENCY_TIMEOUT_SECONDS = 2.0  # every service's DEPENDENCY_TIMEOUT_SECONDS (the default)
SERVICE_NAMES = [spec.name for spec in SERVICES]
BACKENDS = [name for name in SERVICE_NAMES if name != "gateway"]


def make_fault_platform(tmp: Path) -> Platform:
    """A platform with its OWN embedded PostgreSQL and Redis under `tmp`, so tests may stop them."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_URL", "CREDS_DATABASE_URL", "REDIS_URL", "TEST_"))
    }
    env.update(
        {
            "ENVIRONMENT": "test",
            "LOG_LEVEL": "INFO",
            "XDG_RUNTIME_DIR": env.get("XDG_RUNTIME_DIR", "/tmp"),
            "BCRYPT_ROUNDS": "4",
            "CIRCLES_TIMEOUT_SECONDS": str(UPSTREAM_TIMEOUT_SECONDS),
            "DEPENDENCY_TIMEOUT_SECONDS": str(DEPENDENCY_TIMEOUT_SECONDS),
            "STRIPE_WEBHOOK_SECRET": STRIPE_WEBHOOK_SECRET,
            # Every request here comes from 127.0.0.1: lift the per-address limits so the traffic
            # loops measure faults, not throttling.
            "REGISTER_MAX_PER_IP": "1000000",
            "LOGIN_MAX_ATTEMPTS_PER_IP": "1000000",
            "RATE_LIMIT_CREDENTIAL_PER_MINUTE": "1000000",
            "RATE_LIMIT_USER_PER_MINUTE": "1000000",
            "RATE_LIMIT_ANONYMOUS_PER_MINUTE": "1000000",
        }
    )
    return Platform(data_dir=tmp, env=env, free_ports=True, log_dir=tmp / "logs")


def log_tails(platform: Platform, chars: int = 3000) -> str:
    """The end of every process log, and a copy of the whole logs that outlives pytest's
    rotation of temporary folders (other test runs on the machine delete old ones)."""
    logs = platform.log_dir or platform.data_dir
    keep = Path(tempfile.gettempdir()) / "mcm-fault-logs" / time.strftime("%Y%m%d-%H%M%S")
    shutil.copytree(logs, keep, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.pid"))
    parts = [f"full logs: {keep}"]
    for log in sorted(logs.glob("*.log")):
        parts.append(f"--- {log.name}\n{log.read_text(errors='replace')[-chars:]}")
    return "\n".join(parts)


# -- outcomes -----------------------------------------------------------------------------------
@dataclass
class Outcome:
    label: str
    started: float  # time.monotonic() when the request was sent
    elapsed: float
    status: int | None = None  # None: no HTTP answer (see error)
    error: str | None = None
    content_type: str = ""
    body: bytes = b""

    @property
    def refused(self) -> bool:
        """No HTTP answer at all: the connection was refused, or reset from the listen queue
        of a server that stopped accepting (a closing listener resets what it never accepted)."""
        return (
            self.status is None
            and self.error is not None
            and self.error.startswith(("ConnectError", "ReadError", "RemoteProtocolError", "WriteError"))
        )

    def json(self) -> dict:
        return json.loads(self.body)

    def __str__(self) -> str:
        what = f"{self.status} {self.content_type}" if self.status else self.error
        return f"{self.label}: {what} after {self.elapsed:.2f}s {self.body[:160]!r}"


def call(client: httpx.Client, method: str, url: str, label: str | None = None, **kwargs) -> Outcome:
    started = time.monotonic()
    try:
        response = client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        return Outcome(
            label or f"{method} {url}", started, time.monotonic() - started, error=f"{type(exc).__name__}: {exc}"
        )
    return Outcome(
        label or f"{method} {url}",
        started,
        time.monotonic() - started,
        status=response.status_code,
        content_type=response.headers.get("content-type", ""),
        body=response.content,
    )


def is_problem_503(outcome: Outcome) -> bool:
    return outcome.status == 503 and outcome.content_type.startswith("application/problem+json")


# -- platform helpers ---------------------------------------------------------------------------
def ready_status(platform: Platform, name: str, timeout: float = 5.0) -> int | None:
    try:
        return httpx.get(f"{platform.url(name)}/api/v1/health/ready", timeout=timeout).status_code
    except httpx.HTTPError:
        return None


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    """True as soon as `predicate()` holds; False if no check started within `timeout` held."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def wait_ready(platform: Platform, names: Iterable[str], timeout: float = 90.0) -> None:
    pending = set(names)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for name in list(pending):
            process = platform.processes[name]
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{log_tails(platform)}")
            if ready_status(platform, name, timeout=2.0) == 200:
                pending.discard(name)
        if pending:
            time.sleep(0.2)
    if pending:
        raise TimeoutError(f"not ready after {timeout}s: {sorted(pending)}\n{log_tails(platform)}")


def resume(platform: Platform) -> None:
    """SIGCONT every process a test may have frozen (harmless when it is running)."""
    pids = [p.pid for p in platform.processes.values() if p.poll() is None]
    if platform.redis and platform.redis.process and platform.redis.process.poll() is None:
        pids.append(platform.redis.process.pid)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)


def restore(platform: Platform) -> None:
    """Bring the platform back to "everything up and ready" after whatever a test did."""
    resume(platform)
    if platform.postgres and not platform.postgres.running():
        platform.postgres.start()
    if platform.redis and (platform.redis.process is None or platform.redis.process.poll() is not None):
        platform.redis.start()
    for name in SERVICE_NAMES:
        process = platform.processes.get(name)
        if process is None or process.poll() is not None:
            platform.start_service(name)
    wait_ready(platform, SERVICE_NAMES)
    wait_routed(platform, BACKENDS)


ROUTED_PROBES = {
    "auth": "/.well-known/jwks.json",
    "circles": "/api/v1/circles",
    "payments": "/api/v1/payments/obligations",
}


def wait_routed(platform: Platform, names: Iterable[str], timeout: float = 15.0) -> None:
    """Wait until the gateway routes to these services again: after a restart its circuit
    breaker may still hold an upstream "down" for a moment (breaker_open_seconds)."""
    gateway = platform.url("gateway")
    headers: dict[str, str] = {}

    def routed(name: str) -> bool:
        if name != "auth" and not headers:
            headers["Authorization"] = f"Bearer {admin_token(platform)}"
        try:
            status = httpx.get(
                gateway + ROUTED_PROBES[name], headers=headers if name != "auth" else {}, timeout=5
            ).status_code
        except httpx.HTTPError:
            return False
        return status not in (502, 503, 504)

    for name in sorted(names, key=lambda n: n != "auth"):  # auth first: the others need a token
        if not wait_until(lambda name=name: routed(name), timeout=timeout, interval=0.2):
            raise TimeoutError(f"the gateway does not route to {name} after {timeout}s\n{log_tails(platform)}")


def admin_token(platform: Platform) -> str:
    response = httpx.post(
        f"{platform.url('gateway')}/api/v1/auth/login",
        json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()["access_token"]


def new_email(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}@fault.example"


def circle_body(name: str | None = None) -> dict:
    return {
        "name": name or f"Fault circle {uuid.uuid4().hex[:8]}",
        "schedule": {"weekday": "tuesday", "time": "19:30", "timezone": "Europe/Berlin"},
        "location": {"city": "Berlin"},
        "capacity_max": 8,
    }


def stripe_event_body() -> bytes:
    """A Stripe event payments does not act on (no new default card): stored, acknowledged with 200."""
    event = {
        "id": f"evt_fault_{uuid.uuid4().hex}",
        "object": "event",
        "type": "customer.updated",
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": {"id": f"cus_fault_{uuid.uuid4().hex[:10]}", "object": "customer"}},
    }
    return json.dumps(event).encode()


def stripe_signature(body: bytes, secret: str = STRIPE_WEBHOOK_SECRET) -> str:
    stamp = int(time.time())
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


# -- a request whose body trickles in -----------------------------------------------------------
class TrickledRequest:
    """An HTTP/1.1 request over a raw socket: the head and part of the body now, the rest later.

    Between the two the server has a complete request head, so its handler is in flight waiting
    for the body — a slow request without any test-only endpoint in the service.
    """

    def __init__(self, port: int, method: str, path: str, body: bytes, headers: dict[str, str] | None = None) -> None:
        url = f"http://127.0.0.1:{port}"
        self.sock = rawhttp.connect(url, timeout=30)
        head = [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *(headers or {}).items()]
        payload = rawhttp.request(method, path, head, host=f"127.0.0.1:{port}")
        split = max(1, len(body) // 3)
        self.sock.sendall(payload + body[:split])
        self.rest = body[split:]

    def finish(self, pieces: int = 4, pause: float = 0.1) -> tuple[int, bytes]:
        size = max(1, -(-len(self.rest) // pieces))
        try:
            for offset in range(0, len(self.rest), size):
                time.sleep(pause)
                self.sock.sendall(self.rest[offset : offset + size])
            answer = rawhttp.Reader(self.sock).answer()
            if answer is None:
                raise ConnectionError("the server closed the connection without an answer")
            return answer.status, answer.body
        finally:
            self.sock.close()

    def close(self) -> None:
        self.sock.close()


# -- background traffic -------------------------------------------------------------------------
@dataclass
class Traffic:
    """Runs `steps` round-robin in `workers` threads until stopped; keeps every outcome.

    Each step is `step(client) -> Outcome`. `fresh_connections` sends each request on a new
    connection, so a server closing idle keep-alive connections is not mistaken for a failure.
    """

    steps: list[Callable[[httpx.Client], Outcome]]
    workers: int = 3
    pause: float = 0.02
    timeout: float = 10.0
    fresh_connections: bool = False
    outcomes: list[Outcome] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __enter__(self) -> Traffic:
        for index in range(self.workers):
            thread = threading.Thread(target=self._run, args=(index,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout + 5)

    def _run(self, index: int) -> None:
        limits = httpx.Limits(max_keepalive_connections=0) if self.fresh_connections else httpx.Limits()
        with httpx.Client(timeout=self.timeout, limits=limits) as client:
            turn = index
            while not self._stop.is_set():
                outcome = self.steps[turn % len(self.steps)](client)
                turn += 1
                with self._lock:
                    self.outcomes.append(outcome)
                time.sleep(self.pause)

    def snapshot(self) -> list[Outcome]:
        with self._lock:
            return list(self.outcomes)

    def between(self, start: float, end: float) -> list[Outcome]:
        return [o for o in self.snapshot() if start <= o.started < end]


def describe(outcomes: Iterable[Outcome], limit: int = 15) -> str:
    items = list(outcomes)
    return "\n".join(str(o) for o in items[:limit]) + (f"\n… {len(items) - limit} more" if len(items) > limit else "")


# -- events ------------------------------------------------------------------------------------
def user_registered_fields(user_id: uuid.UUID, display_name: str) -> dict[str, str]:
    """The stream entry auth's outbox relay writes for `user.registered` (shared envelope)."""
    envelope = Envelope(
        id=uuid.uuid4(),
        type="user.registered",
        occurred_at=datetime.now(UTC),
        producer="auth",
        payload={"user_id": str(user_id), "display_name": display_name},
        key=str(user_id),
    )
    return envelope.to_fields()


# -- crashing PostgreSQL ---------------------------------------------------------------------------
def _children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (one scan of /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may contain spaces and parentheses: the parent id follows the last ")".
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    """Until it is reaped: `pg_ctl status` counts an unreaped (zombie) postmaster as running."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def crash_postgres(platform: Platform, how: str) -> None:
    """Stop the platform's PostgreSQL the way a crash does: `immediate` is `pg_ctl stop -m
    immediate` (no checkpoint, no flush: what an OOM kill of the server looks like), `sigkill`
    is SIGKILL of the postmaster this platform started. Returns once no process of the server
    is left, so a restart goes through crash recovery from the WAL on disk."""
    postgres = platform.postgres
    assert postgres is not None, "the fault platform runs its own PostgreSQL"
    pid = postgres.postmaster_pid()
    assert pid is not None, "PostgreSQL is not running"
    backends = _children(pid)
    if how == "immediate":
        postgres.stop(mode="immediate")
    elif how == "sigkill":
        os.kill(pid, signal.SIGKILL)
    else:
        raise ValueError(how)
    # Orphaned backends notice the postmaster's death and exit; a server cannot start while
    # they still hold its shared memory.
    if not wait_until(lambda: not any(_alive(p) for p in [pid, *backends]), timeout=20):
        raise TimeoutError(f"PostgreSQL processes still alive 20 s after the {how} crash")
