"""Helpers for the security suite: a platform of real processes, HTTP clients bound to distinct
loopback source addresses, users with roles, problem+json assertions, token forgery and Stripe
signatures. Everything talks to 127.0.0.1 only (clients bind 127.x.y.z source addresses, which
the kernel routes over loopback, so per-address limits can be exercised without spoofing).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from mcm_devstack.platform import Platform

ADMIN_EMAIL = "admin@security.example"
ADMIN_PASSWORD = "correct horse battery staple"
USER_PASSWORD = "a long enough password"
STRIPE_WEBHOOK_SECRET = "whsec_security_tests_only"
ROLES = ("member", "facilitator", "ptm", "support", "leadership", "admin")
PROBLEM_JSON = "application/problem+json"
READY_TIMEOUT_SECONDS = 240.0  # generous: other suites may be loading the same two cores

# The probes that show who the caller is, one per service (direct and through the gateway).
WHO_AM_I = {"auth": "/api/v1/auth/me", "circles": "/api/v1/members/me", "payments": "/api/v1/payments/obligations"}


# -- the platform -------------------------------------------------------------------------------
def start_platform(engines: Any, tmp: Path, *, redis_db: int, **extra_env: str) -> Platform:
    """Real processes on free ports, fresh databases on the session's PostgreSQL, one Redis
    database of the session's Redis (emptied first: rate-limit counters of an earlier platform
    that used the same number must not leak in). Production-like limits unless overridden."""
    main_url = asyncio.run(engines.create_database("sec_main"))
    creds_url = asyncio.run(engines.create_database("sec_creds"))
    redis_url = engines.redis_url.rsplit("/", 1)[0] + f"/{redis_db}"
    _flush_redis(redis_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "CREDS_DATABASE_URL", "REDIS_URL"))}
    env.update(
        {
            "ENVIRONMENT": "test",
            "DATABASE_URL": main_url,
            "CREDS_DATABASE_URL": creds_url,
            "REDIS_URL": redis_url,
            "BCRYPT_ROUNDS": "4",
            "LOG_LEVEL": "WARNING",
            "JWT_KEY_DIR": str(tmp / "keys"),
            "STRIPE_WEBHOOK_SECRET": STRIPE_WEBHOOK_SECRET,
            # The gateway's general per-user / per-address request budgets are not what this suite
            # tests (the authorisation matrix alone sends a few hundred requests per user); the
            # credential-endpoint limits keep their production defaults.
            "RATE_LIMIT_USER_PER_MINUTE": "1000000",
            "RATE_LIMIT_ANONYMOUS_PER_MINUTE": "1000000",
        }
    )
    env.update(extra_env)
    platform = Platform(data_dir=tmp, env=env, free_ports=True, log_dir=tmp / "logs")
    try:
        try:
            platform.start(admin_email=ADMIN_EMAIL, admin_password=ADMIN_PASSWORD)
        except TimeoutError:
            # Start-up is slow when other suites load the machine; give it longer before failing.
            platform.wait_ready(timeout=READY_TIMEOUT_SECONDS)
    except Exception:
        print(log_tails(platform))
        platform.stop()
        raise
    return platform


def _flush_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


def log_tails(platform: Platform, chars: int = 4000) -> str:
    parts = []
    for log in sorted((platform.log_dir or platform.data_dir).glob("*.log")):
        parts.append(f"--- {log.name}\n{log.read_text(errors='replace')[-chars:]}")
    return "\n".join(parts)


# -- clients ------------------------------------------------------------------------------------
_addresses = itertools.count(1)


def fresh_source_ip() -> str:
    """A loopback address no other client of this test session has used (127.77.x.y)."""
    n = next(_addresses)
    return f"127.77.{(n // 250) % 250}.{n % 250 + 1}"


def client(base_url: str, *, source_ip: str | None = None, timeout: float = 30.0) -> httpx.Client:
    """A client from its own loopback address (a fresh one unless given), so per-address limits
    of one test never throttle another."""
    # Idle connections are dropped well before the gateway's 5 s keep-alive ends, so a request is
    # never written to a connection the server is closing at that moment.
    transport = httpx.HTTPTransport(
        local_address=source_ip or fresh_source_ip(), limits=httpx.Limits(keepalive_expiry=1.0)
    )
    return httpx.Client(base_url=base_url, timeout=timeout, transport=transport)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@security.example"


# -- problems -----------------------------------------------------------------------------------
def describe(response: httpx.Response) -> str:
    request = response.request
    path = request.url.raw_path.decode(errors="replace")
    return f"{request.method} {path} → {response.status_code} {response.text[:300]!r}"


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, describe(response)
    content_type = response.headers.get("content-type", "")
    assert content_type.startswith(PROBLEM_JSON), f"{describe(response)} (content-type {content_type!r})"
    body = response.json()
    assert body.get("status") == status and body.get("title") and body.get("type"), body
    text = response.text
    assert "Traceback" not in text and 'File "' not in text, f"stack trace in {describe(response)}"
    return body


def stable_view(response: httpx.Response) -> tuple[int, str, str, str]:
    """What two answers must share to be indistinguishable: status, content type, body and the
    header names (values like dates and request ids differ per request)."""
    names = sorted(
        name.lower() for name in response.headers if name.lower() not in {"date", "x-request-id", "content-length"}
    )
    return response.status_code, response.headers.get("content-type", ""), response.text, ",".join(names)


# -- users --------------------------------------------------------------------------------------
@dataclass
class User:
    email: str
    password: str
    id: str = ""
    roles: list[str] = field(default_factory=list)
    token: str = ""
    refresh_token: str = ""
    display_name: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


class Accounts:
    """Creates users through the gateway as a client would: register, sign in, and (as admin)
    PUT /api/v1/users/{id}/roles, then sign in again so the token carries the roles."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.gateway_url = platform.url("gateway")
        self.admin = User(ADMIN_EMAIL, ADMIN_PASSWORD)
        self.login(self.admin)

    def login(self, user: User, *, source_ip: str | None = None) -> User:
        with client(self.gateway_url, source_ip=source_ip or fresh_source_ip()) as http:
            response = http.post("/api/v1/auth/login", json={"email": user.email, "password": user.password})
            assert response.status_code == 200, describe(response)
            pair = response.json()
            user.token, user.refresh_token = pair["access_token"], pair["refresh_token"]
            me = http.get("/api/v1/auth/me", headers=user.headers)
            assert me.status_code == 200, describe(me)
            body = me.json()
            user.id, user.roles, user.display_name = body["id"], body["roles"], body["display_name"]
        return user

    def create(self, *roles: str, name: str | None = None, prefix: str = "user") -> User:
        user = User(unique_email(prefix), USER_PASSWORD, display_name=name or prefix.title())
        with client(self.gateway_url, source_ip=fresh_source_ip()) as http:
            response = http.post(
                "/api/v1/auth/register",
                json={"email": user.email, "password": user.password, "display_name": user.display_name},
            )
            assert response.status_code == 201, describe(response)
        self.login(user)
        extra = [role for role in roles if role != "member"]
        if extra:
            self.set_roles(user, ["member", *extra])
            self.login(user)
            assert set(extra) <= set(user.roles), user.roles
        return user

    def set_roles(self, user: User, roles: list[str]) -> None:
        with client(self.gateway_url) as http:
            response = http.put(
                f"/api/v1/users/{user.id}/roles",
                json={"roles": roles, "reason": "security test set-up"},
                headers=self.admin.headers,
            )
            if response.status_code == 401:  # the admin's token expired during a long run
                self.login(self.admin)
                response = http.put(
                    f"/api/v1/users/{user.id}/roles",
                    json={"roles": roles, "reason": "security test set-up"},
                    headers=self.admin.headers,
                )
            assert response.status_code == 200, describe(response)


def wait_for(predicate, *, timeout: float = 30.0, interval: float = 0.2, what: str = "condition"):
    """Poll `predicate` until it returns something truthy (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


# -- tokens -------------------------------------------------------------------------------------
def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def signing_key(platform: Platform) -> tuple[str, ec.EllipticCurvePrivateKey]:
    """auth's active signing key (kid, key), read from the platform's key directory."""
    key_dir = Path(platform.env["JWT_KEY_DIR"])
    kid = (key_dir / "active").read_text().strip()
    key = serialization.load_pem_private_key((key_dir / f"{kid}.pem").read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return kid, key


def es256_sign(signing_input: bytes, key: ec.EllipticCurvePrivateKey) -> str:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    der = key.sign(signing_input, ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def compact(header: dict[str, Any], claims: dict[str, Any], signer=None) -> str:
    """A compact JWS; `signer(signing_input) -> base64url signature` (None: empty signature)."""
    signing_input = f"{b64url_json(header)}.{b64url_json(claims)}"
    signature = signer(signing_input.encode()) if signer else ""
    return f"{signing_input}.{signature}"


def hs256_signer(secret: bytes):
    return lambda data: b64url(hmac.new(secret, data, hashlib.sha256).digest())


def claims_like(token: str) -> dict[str, Any]:
    """The (unverified) claims of a real token, to copy into forgeries."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


# -- Stripe -------------------------------------------------------------------------------------
def stripe_signature(payload: bytes, secret: str = STRIPE_WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def stripe_event(event_type: str = "customer.created", **obj: Any) -> dict[str, Any]:
    return {
        "id": f"evt_sec_{uuid.uuid4().hex[:20]}",
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "livemode": False,
        "api_version": "2024-06-20",
        "data": {"object": {"id": f"cus_sec_{uuid.uuid4().hex[:12]}", "object": "customer", **obj}},
    }


def iter_operations(openapi: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in openapi.get("paths", {}).items():
        for method, operation in item.items():
            if method.lower() in {"get", "post", "put", "patch", "delete", "head", "options"}:
                yield method.upper(), path, operation


# -- the services' operations ----------------------------------------------------------------------
def service_documents() -> dict[str, dict[str, Any]]:
    """Each service's OpenAPI document, built in-process from its app (no server needed), so test
    parameters can be generated at collection time and follow new endpoints automatically."""
    import logging

    from mcm_auth.main import create_app as auth_app
    from mcm_circles.main import create_app as circles_app
    from mcm_messaging.main import create_app as messaging_app
    from mcm_payments.main import create_app as payments_app

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level  # create_app configures JSON logging for a process
    try:
        return {
            name: factory().openapi()
            for name, factory in (
                ("auth", auth_app),
                ("circles", circles_app),
                ("payments", payments_app),
                ("messaging", messaging_app),
            )
        }
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def routed_operations(documents: dict[str, dict[str, Any]], *, public: bool = False) -> list[tuple[str, str, str]]:
    """(service, method, path template) of every operation the gateway routes and protects (with
    `public=True`: the ones it routes without a token instead). /internal/ paths are never routed."""
    from mcm_gateway.routes import Access, RouteTable

    table = RouteTable()
    found = []
    for service, doc in sorted(documents.items()):
        for method, path, _operation in iter_operations(doc):
            if "/internal/" in path or path.startswith("/internal"):
                continue
            concrete = path.replace("{", "").replace("}", "")  # a plausible concrete path for routing
            route = table.resolve(method, concrete, concrete.encode())
            if route is None or (route.access is Access.PUBLIC) != public:
                continue
            found.append((service, method, path))
    return found


def resolve_schema(doc: dict[str, Any], schema: dict[str, Any] | None) -> dict[str, Any]:
    """Follow $ref and unwrap `anyOf: [X, null]` (optional bodies) to the object schema."""
    seen = 0
    while schema and seen < 20:
        seen += 1
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = doc["components"]["schemas"][name]
            continue
        options = schema.get("anyOf") or schema.get("oneOf")
        if options:
            concrete = [option for option in options if option.get("type") != "null"]
            if len(concrete) == 1:
                schema = concrete[0]
                continue
        break
    return schema or {}


def json_body_schema(doc: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any] | None:
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return None
    return resolve_schema(doc, content["application/json"].get("schema"))


def success_schema(doc: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any]:
    for status, response in sorted(operation.get("responses", {}).items()):
        if status.startswith("2"):
            schema = response.get("content", {}).get("application/json", {}).get("schema")
            return resolve_schema(doc, schema)
    return {}


# -- sample objects ---------------------------------------------------------------------------------
def in_days(days: int, minutes: int = 0) -> str:
    import datetime as dt

    return (dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=days, minutes=minutes)).isoformat()


def sample_circle(**changes: Any) -> dict[str, Any]:
    return {
        "name": f"Sample {uuid.uuid4().hex[:6]}",
        "description": "d",
        "capacity_max": 8,
        "capacity_min": 2,
        "schedule": {"weekday": "friday", "time": "18:00", "timezone": "Europe/Berlin"},
        "location": {"city": "Bonn"},
        "dues": {"amount": 900, "currency": "EUR"},
        **changes,
    }


def sample_event(**changes: Any) -> dict[str, Any]:
    return {
        "type": "meetup",
        "title": "Sample",
        "description": "d",
        "starts_at": in_days(40),
        "ends_at": in_days(40, 120),
        "timezone": "Europe/Berlin",
        "location": {"city": "Bonn"},
        "capacity": 10,
        "price": {"amount": 0, "currency": "EUR"},
        **changes,
    }


def sample_objects(platform: Platform, admin: User, member: User) -> dict[str, str]:
    """Real objects to stand behind path parameters: a public circle with dues (admin facilitates,
    `member` belongs and owes), a meeting, a goal, a draft and a published event (member
    registered), the member's obligation and a payment on it, a requirement template."""
    import datetime as dt

    ids: dict[str, str] = {"user": member.id}
    with client(platform.url("gateway")) as http:

        def ok(response: httpx.Response) -> Any:
            assert response.status_code in (200, 201), describe(response)
            return response.json()

        ok(http.get("/api/v1/members/me", headers=member.headers))
        ids["circle"] = ok(
            http.post("/api/v1/circles", json=sample_circle(visibility="public"), headers=admin.headers)
        )["id"]
        ok(http.post(f"/api/v1/circles/{ids['circle']}/members", json={"user_id": member.id}, headers=admin.headers))
        ids["meeting"] = ok(
            http.post(
                f"/api/v1/circles/{ids['circle']}/meetings",
                json={"starts_at": in_days(5), "duration_minutes": 60},
                headers=admin.headers,
            )
        )["items"][0]["id"]
        goal = {
            "title": "Goal",
            "period_start": dt.date.today().isoformat(),
            "period_end": (dt.date.today() + dt.timedelta(days=7)).isoformat(),
        }
        ids["goal"] = ok(http.post(f"/api/v1/circles/{ids['circle']}/goals", json=goal, headers=admin.headers))["id"]
        ids["event"] = ok(
            http.post("/api/v1/events", json=sample_event(circle_ids=[ids["circle"]]), headers=admin.headers)
        )["id"]
        ids["published"] = ok(
            http.post("/api/v1/events", json=sample_event(circle_ids=[ids["circle"]]), headers=admin.headers)
        )["id"]
        ok(http.post(f"/api/v1/events/{ids['published']}/publish", headers=admin.headers))
        ids["registration"] = ok(
            http.post(f"/api/v1/events/{ids['published']}/registrations", json={}, headers=member.headers)
        )["id"]
        ids["template"] = ok(
            http.post(
                "/api/v1/events/requirement-templates",
                json={"name": f"Sample {uuid.uuid4().hex[:6]}", "requirements": [{"kind": "verified_email"}]},
                headers=admin.headers,
            )
        )["id"]

        # A conversation the admin reads and writes: his own announcement to everyone.
        ids["conversation"] = ok(
            http.post(
                "/api/v1/conversations",
                json={"kind": "announcement", "audience": {"scope": "everyone"}, "title": "Sample"},
                headers=admin.headers,
            )
        )["id"]

        def obligation() -> str | None:
            items = ok(http.get("/api/v1/payments/obligations", headers=member.headers))["items"]
            return next((item["id"] for item in items if item.get("circle_id") == ids["circle"]), None)

        ids["obligation"] = wait_for(obligation, timeout=60, what="the sample member's dues obligation")
        paid = ok(
            http.post(
                f"/api/v1/payments/obligations/{ids['obligation']}/offline-payment",
                json={"amount": 100, "method": "cash"},
                headers={**admin.headers, "Idempotency-Key": uuid.uuid4().hex},
            )
        )
        ids["payment"] = paid["payment"]["id"]
    return ids
