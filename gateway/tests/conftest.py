"""Gateway test harness: real uvicorn servers on free loopback ports.

Four small upstream apps (auth, circles, payments, messaging) echo what reached them — method, path,
headers, body digest — so tests can assert what the gateway forwarded. The auth one also serves
a JWKS made from ES256 keys generated here. The gateway itself runs as a real uvicorn server
configured exactly as `python -m mcm_gateway serve` configures it (`front.py`: httptools, the
gateway's protocol limits, websockets) and tests talk to it with httpx or raw sockets over TCP.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec

from mcm_devstack.engines import free_port
from mcm_gateway.config import Settings
from mcm_gateway.front import GatewayServer, uvicorn_config
from mcm_gateway.main import GatewayApp, create_app

ISSUER = "mcm-auth-test"
AUDIENCE = "mcm-api-test"


@dataclass
class SigningKey:
    kid: str
    private: ec.EllipticCurvePrivateKey

    def jwk(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.private.public_key()))
        return {**public, "kid": self.kid, "alg": "ES256", "use": "sig"}


@dataclass
class Keys:
    current: SigningKey = field(default_factory=lambda: SigningKey("k1", ec.generate_private_key(ec.SECP256R1())))
    published: list[SigningKey] = field(default_factory=list)

    @staticmethod
    def new_key(kid: str) -> SigningKey:
        return SigningKey(kid, ec.generate_private_key(ec.SECP256R1()))

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.jwk() for key in self.published]}

    def mint(self, *, key: SigningKey | None = None, headers: dict[str, Any] | None = None, **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": str(uuid.uuid4()),
            "sid": str(uuid.uuid4()),
            "jti": uuid.uuid4().hex,
            "iat": now,
            "exp": now + 900,
            "typ": "access",
            "roles": ["member"],
        }
        claims.update(overrides)
        claims = {name: value for name, value in claims.items() if value is not None}
        signer = key or self.current
        return jwt.encode(claims, signer.private, algorithm="ES256", headers={"kid": signer.kid, **(headers or {})})


class EchoApp:
    """An upstream that answers with what it received. Special paths: .../slow?seconds=N,
    .../big?bytes=N (a streamed body), .../status/<code>, and the JWKS for auth.
    `seen` keeps (path, headers) of every request, so tests can prove what never arrived."""

    def __init__(self, name: str, keys: Keys | None = None) -> None:
        self.name = name
        self.keys = keys
        self.seen: list[tuple[str, dict[bytes, bytes]]] = []

    def request_ids(self) -> set[bytes]:
        return {headers.get(b"x-request-id", b"") for _, headers in self.seen}

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            return
        name, keys = self.name, self.keys
        path: str = scope["path"]
        self.seen.append((path, dict(scope["headers"])))
        query = dict(part.split("=", 1) for part in scope["query_string"].decode().split("&") if "=" in part)
        digest = hashlib.sha256()
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            digest.update(body)
            size += len(body)
            more = message.get("more_body", False)
        if keys is not None and path == "/.well-known/jwks.json":
            return await _json(send, 200, keys.jwks())
        if path.endswith("/slow"):
            await asyncio.sleep(float(query.get("seconds", "5")))
        if path.endswith("/big"):
            total = int(query.get("bytes", "0"))
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/octet-stream")],
                }
            )
            chunk = b"x" * 65536
            sent = 0
            while sent < total:
                part = chunk[: min(len(chunk), total - sent)]
                sent += len(part)
                await send({"type": "http.response.body", "body": part, "more_body": sent < total})
            return
        status = int(path.rsplit("/", 1)[1]) if "/status/" in path else 200
        await _json(
            send,
            status,
            {
                "upstream": name,
                "method": scope["method"],
                "path": path,
                "raw_path": scope["raw_path"].decode(),
                "query": scope["query_string"].decode(),
                "headers": [[k.decode(), v.decode()] for k, v in scope["headers"]],
                "body_size": size,
                "body_sha256": digest.hexdigest(),
            },
            extra=[
                (b"x-upstream", name.encode()),
                (b"connection", b"keep-alive"),
                (b"x-request-id", b"upstream-made-this-up"),
            ],
        )


async def _json(
    send: Callable[..., Any], status: int, body: Any, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


class RunningServer:
    def __init__(self, app: Any, *, lifespan: str = "off", port: int | None = None) -> None:
        self.app = app
        self.port = port or free_port()
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            loop="asyncio",
            http="httptools",
            lifespan=lifespan,
            log_level="warning",
            access_log=False,
            proxy_headers=False,
            server_header=False,
            log_config=None,
        )
        self.server = uvicorn.Server(config)
        self.task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> RunningServer:
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            if self.task.done():
                self.task.result()
            await asyncio.sleep(0.01)
        return self

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await asyncio.wait_for(self.task, 10)


@dataclass
class Platform:
    keys: Keys
    upstreams: dict[str, RunningServer]
    start_gateway: Callable[..., Any]


@pytest.fixture(scope="session")
def keys() -> Keys:
    keys = Keys()
    keys.published.append(keys.current)
    return keys


@pytest.fixture(scope="session")
async def upstreams(keys: Keys) -> AsyncIterator[dict[str, RunningServer]]:
    servers = {
        name: await RunningServer(EchoApp(name, keys if name == "auth" else None)).start()
        for name in ("auth", "circles", "payments", "messaging")
    }
    yield servers
    for server in servers.values():
        await server.stop()


def gateway_settings(upstreams: dict[str, RunningServer], **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "jwt_issuer": ISSUER,
        "jwt_audience": AUDIENCE,
        "redis_url": None,
        "auth_url": upstreams["auth"].url,
        "circles_url": upstreams["circles"].url,
        "payments_url": upstreams["payments"].url,
        "messaging_url": upstreams["messaging"].url,
        "log_level": "WARNING",
        "max_body_bytes": 64 * 1024 * 1024,
        "metrics_port": 0,  # tests that want it pass a free port
    }
    values.update(overrides)
    return Settings(**values)


class GatewayUnderUvicorn:
    """The gateway as production runs it: uvicorn with the gateway's configuration."""

    def __init__(self, app: GatewayApp) -> None:
        self.app = app
        self.port = free_port()
        self.server = GatewayServer(uvicorn_config(app, app.settings, "127.0.0.1", self.port, log_level="warning"), app)
        self.task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> GatewayUnderUvicorn:
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            if self.task.done():
                self.task.result()
            await asyncio.sleep(0.01)
        return self

    async def stop(self) -> None:
        # What SIGTERM does (GatewayServer.handle_exit), without uvicorn re-raising the signal.
        self.app.runtime.health.draining = True
        self.server.should_exit = True
        if self.task is not None:
            await asyncio.wait_for(self.task, 30)


@dataclass
class RunningGateway:
    app: GatewayApp
    server: Any
    client: httpx.AsyncClient

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture
async def start_gateway(upstreams: dict[str, RunningServer]) -> AsyncIterator[Callable[..., Any]]:
    """Start a gateway with settings overrides; stopped after the test."""
    running: list[RunningGateway] = []

    async def start(**overrides: Any) -> RunningGateway:
        app = create_app(gateway_settings(upstreams, **overrides))
        runner = GatewayUnderUvicorn(app)
        await runner.start()
        client = httpx.AsyncClient(base_url=runner.url, timeout=10, trust_env=False)
        gateway = RunningGateway(app, runner, client)
        running.append(gateway)
        return gateway

    yield start
    for gateway in running:
        await gateway.client.aclose()
        await gateway.server.stop()


@pytest.fixture
async def gateway(start_gateway: Callable[..., Any]) -> RunningGateway:
    return await start_gateway()


@pytest.fixture
def token(keys: Keys) -> str:
    return keys.mint()


@pytest.fixture
def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _forwarded_headers(response: httpx.Response) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {}
    for name, value in response.json()["headers"]:
        seen.setdefault(name, []).append(value)
    return seen


@pytest.fixture
def forwarded() -> Callable[[httpx.Response], dict[str, list[str]]]:
    """The headers the upstream received, from the echo body: name → all its values."""
    return _forwarded_headers


@pytest.fixture
async def start_upstream() -> AsyncIterator[Callable[..., Any]]:
    """Start an extra echo upstream (e.g. on a port a gateway already points at)."""
    running: list[RunningServer] = []

    async def start(name: str, port: int | None = None, app: Any = None) -> RunningServer:
        server = await RunningServer(app or EchoApp(name), port=port).start()
        running.append(server)
        return server

    yield start
    for server in running:
        await server.stop()
