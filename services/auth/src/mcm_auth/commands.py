"""Operator commands behind `python -m mcm_auth ...`: create the first admin, rotate the key."""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from mcm_auth.accounts import service as accounts
from mcm_auth.accounts.events import announce
from mcm_auth.accounts.models import User
from mcm_auth.accounts.rules import check_password, clean_display_name, normalise_email
from mcm_auth.config import Settings
from mcm_auth.keys import service as keys
from mcm_auth.keys.material import generate_key, key_to_pem, write_key_file
from mcm_auth.models import EVENTS
from mcm_auth.roles.models import AuditEntry
from mcm_auth.roles.permissions import canonical_roles
from mcm_auth.security.passwords import PasswordHasher
from mcm_shared.db import Database
from mcm_shared.events.writer import EventWriter
from mcm_shared.security import Role

DEV_ADMIN_EMAIL = "admin@mcm.example"


async def ensure_admin(settings: Settings, *, email: str, password: str | None, display_name: str) -> str:
    """Create the admin account, or give an existing account the admin role. Returns a report."""
    database = Database(settings.creds_database_url or "")
    try:
        return await ensure_admin_in(database, settings, email=email, password=password, display_name=display_name)
    finally:
        await database.dispose()


async def ensure_admin_in(
    database: Database,
    settings: Settings,
    *,
    email: str,
    password: str | None,
    display_name: str,
    hasher: PasswordHasher | None = None,
) -> str:
    """Idempotent: an existing admin is left alone; an existing account gains the admin role."""
    async with database.session() as session:
        user = await accounts.user_by_email(session, email)
        if user is not None:
            if Role.ADMIN.value in user.roles:
                return f"admin {email} already exists; nothing changed"
            before = list(user.roles)
            user.roles = canonical_roles([*user.roles, Role.ADMIN.value])
            session.add(
                AuditEntry(
                    actor_id=None,
                    subject_id=user.id,
                    action="roles_changed",
                    details={"before": before, "after": user.roles},
                    reason="create-admin command",
                )
            )
            await session.commit()
            return f"account {email} already existed; admin role added (password unchanged)"
        # No transaction while bcrypt runs; a concurrent creation is caught by the unique email.
        await session.commit()
        generated = password is None
        password = password or secrets.token_urlsafe(18)
        own_hasher = hasher is None
        hasher = hasher or PasswordHasher(
            settings.password_pepper.get_secret_value(), settings.bcrypt_rounds, concurrency=1
        )
        try:
            password_hash = await hasher.hash(password)
        finally:
            if own_hasher:
                hasher.close()
        user = User(
            id=uuid.uuid4(),
            email=email,
            display_name=display_name,
            password_hash=password_hash,
            roles=canonical_roles([Role.ADMIN.value]),
            email_verified_at=datetime.now(UTC),
        )
        try:
            await accounts.add_user(session, user)
            writer = EventWriter(EVENTS, producer="auth")
            await announce(session, writer, "user.registered", user)
            session.add(
                AuditEntry(
                    actor_id=None,
                    subject_id=user.id,
                    action="created_admin",
                    details={"roles": user.roles},
                    reason="create-admin command",
                )
            )
            await session.commit()
        except IntegrityError:  # another replica created it at the same moment
            return f"admin {email} was just created by another process; nothing changed"
        if generated:
            return f"admin {email} created with generated password: {password}"
        return f"admin {email} created"


def create_admin(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mcm_auth create-admin")
    parser.add_argument("--email", default=os.environ.get("ADMIN_EMAIL"))
    parser.add_argument("--password", default=os.environ.get("ADMIN_PASSWORD"))
    parser.add_argument("--display-name", default="Administrator")
    args = parser.parse_args(argv)
    settings = Settings()
    if not args.email and not settings.is_production:
        # `make run` on a fresh machine must end with an admin it can print.
        args.email = DEV_ADMIN_EMAIL
    if not args.email:
        print("create-admin: give --email or set ADMIN_EMAIL", file=sys.stderr)
        return 2
    try:
        email = normalise_email(args.email)
        password = check_password(args.password) if args.password else None
        display_name = clean_display_name(args.display_name)
    except (ValueError, ValidationError) as exc:
        print(f"create-admin: {exc}", file=sys.stderr)
        return 2
    if not settings.creds_database_url:
        print("create-admin: CREDS_DATABASE_URL is not set", file=sys.stderr)
        return 2
    print(asyncio.run(ensure_admin(settings, email=email, password=password, display_name=display_name)))
    return 0


async def prepublish(settings: Settings, kid: str, jwk: dict[str, Any]) -> None:
    """Publish a new public key before anything signs with it, so verifiers already know it."""
    database = Database(settings.creds_database_url or "")
    try:
        async with database.session() as session:
            await keys.prepublish(session, kid, jwk, datetime.now(UTC))
            await session.commit()
    finally:
        await database.dispose()


def rotate_key(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mcm_auth rotate-key")
    parser.add_argument(
        "--print-pem", action="store_true", help="print the new private key instead of writing a key file"
    )
    args = parser.parse_args(argv)
    settings = Settings()
    key = generate_key()
    if settings.creds_database_url:
        asyncio.run(prepublish(settings, key.kid, key.public_jwk))
    if args.print_pem or settings.jwt_private_key is not None:
        # Production keeps the key in a secret: print it for the operator to store as
        # JWT_PRIVATE_KEY; replicas started with it sign with the new kid.
        print(key_to_pem(key), end="")
        print(f"new kid {key.kid}: set JWT_PRIVATE_KEY to the PEM above and roll the deployment", file=sys.stderr)
        return 0
    path = write_key_file(settings.jwt_key_dir, key, activate=True)
    print(
        f"new signing key {key.kid} written to {path}; restart auth to sign with it "
        "(older keys stay published until their tokens have expired)"
    )
    return 0
