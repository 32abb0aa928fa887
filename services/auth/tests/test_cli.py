"""The operator commands: migrate, create-admin and rotate-key (real processes where that matters,
in-process otherwise)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import jwt
import pytest
from sqlalchemy import text

from mcm_auth.commands import create_admin, rotate_key
from mcm_auth.config import Settings
from mcm_auth.db import MIGRATIONS_DIR, SCHEMA, VERSION_TABLE
from mcm_shared.migrations import migrate_command
from mcm_shared.settings import ConfigurationError

from .conftest import PASSWORD, bearer, login, new_email, running, signed_up


async def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **env}
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "mcm_auth", *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def run_in_thread(command, argv: list[str], monkeypatch, **env: str) -> int:
    """The same command function, in-process (a real process is started only where that matters)."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return await asyncio.to_thread(command, argv)


@pytest.fixture
async def fresh_db(fresh_creds) -> str:
    return fresh_creds


async def test_migrate_command_brings_a_new_database_to_head(engines):
    url = await engines.create_database("creds_cli")
    result = await run_cli("migrate", CREDS_DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    # Idempotent: a second run (here in-process, as replicas' init steps would) changes nothing.
    await asyncio.to_thread(migrate_command, MIGRATIONS_DIR, url, version_table=VERSION_TABLE, schema=SCHEMA)
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        assert await connection.fetchval("SELECT version_num FROM auth.alembic_version_auth") is not None
    finally:
        await connection.close()


async def test_create_admin_is_idempotent_and_the_admin_can_sign_in(
    fresh_db, make_settings, tmp_path, monkeypatch, capsys
):
    email = new_email()
    first = await run_cli(
        "create-admin", "--email", email, "--password", PASSWORD, CREDS_DATABASE_URL=fresh_db, BCRYPT_ROUNDS="4"
    )
    assert first.returncode == 0, first.stderr
    assert "created" in first.stdout
    again = await run_in_thread(
        create_admin,
        [],
        monkeypatch,
        CREDS_DATABASE_URL=fresh_db,
        ADMIN_EMAIL=email,
        ADMIN_PASSWORD="another password 1",
        BCRYPT_ROUNDS="4",
    )
    assert again == 0
    assert "already exists" in capsys.readouterr().out
    async with running(make_settings(creds_database_url=fresh_db, jwt_key_dir=tmp_path)) as client:
        tokens = await login(client, email)  # the second run did not change the password
        me = (await client.get("/api/v1/auth/me", headers=bearer(tokens))).json()
    assert "admin" in me["roles"] and me["email_verified"] is True


async def test_create_admin_without_password_generates_and_prints_one(
    fresh_db, make_settings, tmp_path, monkeypatch, capsys
):
    email = new_email()
    code = await run_in_thread(
        create_admin, ["--email", email], monkeypatch, CREDS_DATABASE_URL=fresh_db, BCRYPT_ROUNDS="4"
    )
    assert code == 0
    password = capsys.readouterr().out.strip().rsplit(": ", 1)[1]
    async with running(make_settings(creds_database_url=fresh_db, jwt_key_dir=tmp_path)) as client:
        await login(client, email, password)


async def test_create_admin_refuses_a_short_password(fresh_db, monkeypatch, capsys):
    code = await run_in_thread(
        create_admin, ["--email", new_email(), "--password", "short"], monkeypatch, CREDS_DATABASE_URL=fresh_db
    )
    assert code == 2
    assert "at least" in capsys.readouterr().err


async def test_development_start_creates_the_configured_admin(fresh_db, make_settings, tmp_path):
    email = new_email()
    settings = make_settings(
        creds_database_url=fresh_db,
        jwt_key_dir=tmp_path,
        environment="development",
        admin_email=email,
        admin_password=PASSWORD,
    )
    async with running(settings) as client:
        tokens = await login(client, email)
        assert "admin" in (await client.get("/api/v1/auth/me", headers=bearer(tokens))).json()["roles"]


async def test_rotate_key_signs_with_a_new_kid_and_keeps_the_old_key_published(fresh_db, make_settings, tmp_path):
    settings = make_settings(creds_database_url=fresh_db, jwt_key_dir=tmp_path)
    async with running(settings) as client:
        _, old_tokens = await signed_up(client)
    old_kid = jwt.get_unverified_header(old_tokens["access_token"])["kid"]

    result = await run_cli("rotate-key", CREDS_DATABASE_URL=fresh_db, JWT_KEY_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr

    async with running(settings) as client:
        _, new_tokens = await signed_up(client)
        new_kid = jwt.get_unverified_header(new_tokens["access_token"])["kid"]
        assert new_kid != old_kid
        kids = {key["kid"] for key in (await client.get("/.well-known/jwks.json")).json()["keys"]}
        assert {old_kid, new_kid} <= kids
        assert (await client.get("/api/v1/auth/me", headers=bearer(old_tokens))).status_code == 200

    # Once the old key's tokens have all expired, it is no longer published or accepted.
    async with client.app.state.db.session() as session:
        await session.execute(
            text("UPDATE auth.signing_keys SET retired_at = now() - interval '1 day' WHERE kid = :k"), {"k": old_kid}
        )
        await session.commit()
    async with running(settings) as client:
        kids = {key["kid"] for key in (await client.get("/.well-known/jwks.json")).json()["keys"]}
        assert old_kid not in kids and new_kid in kids
        assert (await client.get("/api/v1/auth/me", headers=bearer(old_tokens))).status_code == 401
        assert (await client.get("/api/v1/auth/me", headers=bearer(new_tokens))).status_code == 200


async def test_rotate_key_prints_a_pem_for_production_style_deployments(
    fresh_db, make_settings, tmp_path, monkeypatch, capsys
):
    code = await run_in_thread(
        rotate_key, ["--print-pem"], monkeypatch, CREDS_DATABASE_URL=fresh_db, JWT_KEY_DIR=str(tmp_path)
    )
    assert code == 0
    result = capsys.readouterr()
    pem = result.out
    assert pem.startswith("-----BEGIN PRIVATE KEY-----")
    settings = make_settings(creds_database_url=fresh_db, jwt_key_dir=tmp_path / "unused", jwt_private_key=pem)
    async with running(settings) as client:
        _, tokens = await signed_up(client)
    kid = jwt.get_unverified_header(tokens["access_token"])["kid"]
    assert kid in result.err


def test_production_refuses_development_defaults():
    with pytest.raises(ConfigurationError) as refused:
        Settings(
            environment="production", creds_database_url="postgresql://db/creds", redis_url="redis://r"
        ).check_production_ready()
    message = str(refused.value)
    assert "JWT_PRIVATE_KEY" in message and "PASSWORD_PEPPER" in message


def test_production_refuses_weak_client_secrets():
    from mcm_auth.keys.material import generate_key, key_to_pem

    settings = Settings(
        environment="production",
        creds_database_url="postgresql://db/creds",
        redis_url="redis://r",
        jwt_private_key=key_to_pem(generate_key()),
        password_pepper="a" * 40,
        service_client_secret="b" * 40,
        service_clients="circles:short",
    )
    with pytest.raises(ConfigurationError, match="circles"):
        settings.check_production_ready()


async def test_create_admin_in_development_defaults_the_email(fresh_db, monkeypatch, capsys):
    monkeypatch.delenv("ADMIN_EMAIL", raising=False)
    monkeypatch.delenv("ADMIN_PASSWORD", raising=False)
    code = await run_in_thread(
        create_admin, [], monkeypatch, CREDS_DATABASE_URL=fresh_db, BCRYPT_ROUNDS="4", ENVIRONMENT="development"
    )
    assert code == 0
    assert "admin@mcm.example created with generated password" in capsys.readouterr().out


def test_development_accepts_the_platform_services_with_the_default_secret():
    from mcm_shared.settings import DEV_DEFAULT_SECRET

    assert Settings(environment="development").service_client_secrets()["circles"] == DEV_DEFAULT_SECRET
    assert Settings(
        environment="development", service_clients="circles:long-enough-secret-123456"
    ).service_client_secrets() == {"circles": "long-enough-secret-123456"}
    production = Settings(environment="production", service_clients="")
    assert production.service_client_secrets() == {}


async def test_a_key_rotated_by_another_replica_is_learnt_on_first_sight(fresh_db, make_settings, tmp_path):
    """Two replicas: B starts with a new key while A runs; A accepts B's tokens at once."""
    from mcm_auth.keys.material import generate_key, key_to_pem

    first = make_settings(creds_database_url=fresh_db, jwt_key_dir=tmp_path)
    second = make_settings(creds_database_url=fresh_db, jwt_private_key=key_to_pem(generate_key()))
    async with running(first) as replica_a, running(second) as replica_b:
        _, tokens = await signed_up(replica_b)
        assert (await replica_a.get("/api/v1/auth/me", headers=bearer(tokens))).status_code == 200
