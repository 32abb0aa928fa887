"""Auth test harness: one migrated credentials database per test session on the embedded
PostgreSQL, the shared embedded Redis, a real SMTP sink and a fake SMS API. Each test gets a
fresh app (lifespan run) and talks to it over HTTP with httpx + ASGITransport. Tests stay
independent by using fresh email addresses and client addresses, never shared rows."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from mcm_auth.config import Settings
from mcm_auth.db import MIGRATIONS_DIR, SCHEMA, VERSION_TABLE
from mcm_auth.main import create_app
from mcm_testing.engines import TestEngines

from .fakes import InternalServices, MailSink, SmsApi, start_internal_services, start_mail_sink, start_sms_api

PASSWORD = "correct horse battery"
SMS_ACCOUNT, SMS_TOKEN = "AC_test", "sms-test-token"


@pytest.fixture(scope="session")
async def creds_url(engines: TestEngines) -> str:
    return await engines.migrated_copy(MIGRATIONS_DIR, version_table=VERSION_TABLE, schema=SCHEMA, prefix="creds")


@pytest.fixture(scope="session")
def mail() -> MailSink:
    sink, controller = start_mail_sink()
    yield sink
    controller.stop()


@pytest.fixture(scope="session")
def sms_server() -> tuple[SmsApi, str]:
    api, base, server = start_sms_api(SMS_ACCOUNT, SMS_TOKEN)
    yield api, base
    server.should_exit = True


@pytest.fixture(scope="session")
def internal_services_server() -> InternalServices:
    fake, server = start_internal_services()
    yield fake
    server.should_exit = True


@pytest.fixture
def internal_services(internal_services_server: InternalServices) -> InternalServices:
    internal_services_server.parts.clear()
    internal_services_server.down.clear()
    internal_services_server.calls.clear()
    return internal_services_server


@pytest.fixture
def sms(sms_server: tuple[SmsApi, str]) -> SmsApi:
    return sms_server[0]


@pytest.fixture(scope="session")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("keys")


@pytest.fixture
def make_settings(
    creds_url: str,
    redis_url: str,
    mail: MailSink,
    sms_server: tuple[SmsApi, str],
    key_dir: Path,
    internal_services: InternalServices,
) -> Callable[..., Settings]:
    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "environment": "test",
            "creds_database_url": creds_url,
            "redis_url": redis_url,
            "bcrypt_rounds": 4,
            "jwt_key_dir": key_dir,
            "smtp_host": "127.0.0.1",
            "smtp_port": mail.port,
            "sms_api_base": sms_server[1],
            "sms_account_sid": SMS_ACCOUNT,
            "sms_auth_token": SMS_TOKEN,
            "login_max_attempts_per_ip": 10_000,
            "register_max_per_ip": 10_000,
            "service_clients": "circles:circles-secret-0123456789,payments:payments-secret-0123456789",
            "circles_url": internal_services.url("circles"),
            "payments_url": internal_services.url("payments"),
            "internal_call_timeout_seconds": 2.0,
        }
        values.update(overrides)
        return Settings(**values)

    return build


@asynccontextmanager
async def running(settings: Settings, internal: InternalServices | None = None) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://auth.test") as client:
            client.app = app  # type: ignore[attr-defined]
            if internal is not None:  # the fake services trust this app's signing keys
                internal.keys.load((await client.get("/.well-known/jwks.json")).json())
            yield client


@pytest.fixture
def app_client(make_settings: Callable[..., Settings], internal_services: InternalServices) -> Callable[..., Any]:
    """`async with app_client(**settings) as client:` for tests that need special settings."""

    def open_client(**overrides: Any):
        return running(make_settings(**overrides), internal_services)

    return open_client


@pytest.fixture
async def client(
    make_settings: Callable[..., Settings], internal_services: InternalServices
) -> AsyncIterator[httpx.AsyncClient]:
    async with running(make_settings(), internal_services) as client:
        yield client


def new_email() -> str:
    return f"user-{uuid.uuid4().hex[:12]}@example.org"


def new_ip() -> str:
    raw = uuid.uuid4().int
    return f"10.{raw % 250}.{(raw >> 8) % 250}.{(raw >> 16) % 250 + 1}"


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def register(
    client: httpx.AsyncClient, email: str | None = None, password: str = PASSWORD, name: str = "Sam"
) -> str:
    email = email or new_email()
    response = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": password, "display_name": name}
    )
    assert response.status_code == 201, response.text
    return email


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD, **headers: str) -> dict[str, Any]:
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def signed_up(client: httpx.AsyncClient, **kwargs: Any) -> tuple[str, dict[str, Any]]:
    email = await register(client, **kwargs)
    return email, await login(client, email, kwargs.get("password", PASSWORD))


@pytest.fixture
async def fresh_creds(engines: TestEngines) -> str:
    """A credentials database of its own, for tests that need to see the whole table."""
    return await engines.migrated_copy(MIGRATIONS_DIR, version_table=VERSION_TABLE, schema=SCHEMA, prefix="creds_fresh")


async def make_admin(client: httpx.AsyncClient, roles: tuple[str, ...] = ("admin",)) -> tuple[str, dict[str, Any]]:
    """An account with the given roles (set directly, as an operator would), signed in."""
    from sqlalchemy import text

    email = await register(client)
    async with client.app.state.db.session() as session:
        await session.execute(
            text("UPDATE auth.users SET roles = CAST(:roles AS varchar[]) WHERE email = :e"),
            {"roles": ["member", *roles], "e": email},
        )
        await session.commit()
    return email, await login(client, email)


async def user_id_of(client: httpx.AsyncClient, tokens: dict[str, Any]) -> str:
    return (await client.get("/api/v1/auth/me", headers=bearer(tokens))).json()["id"]


async def verified_user(client: httpx.AsyncClient, mail: Any) -> tuple[str, dict[str, Any]]:
    """A signed-in user whose email address is proved (code read from the SMTP sink)."""
    import re

    email, tokens = await signed_up(client)
    found = await mail.wait_for_text(email, "verification code is")
    code = re.search(r"code is (\d{6})", found.body).group(1)
    response = await client.post("/api/v1/auth/verify-email", json={"code": code}, headers=bearer(tokens))
    assert response.status_code == 204, response.text
    return email, tokens
