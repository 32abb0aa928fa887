"""`python -m mcm_auth import <file.csv> --as <admin email> [--dry-run]`: the bulk import of
POST /api/v1/imports for an operator, with the same checks and the same answer (printed as JSON).

It builds the service's runtime (it needs auth's signing key for the service token to circles,
CIRCLES_URL, and the outbox the running service delivers the invitation emails from). The admin
named by --as is the inviter, as the signed-in admin is through the API. Exit status: 0 imported
(or a clean dry run), 1 problems (nothing imported), 2 usage.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from contextlib import AsyncExitStack
from pathlib import Path

from redis.asyncio import Redis

from mcm_auth.accounts import service as accounts
from mcm_auth.accounts.rules import normalise_email
from mcm_auth.config import Settings
from mcm_auth.imports import service
from mcm_auth.imports.errors import ImportRefused
from mcm_auth.imports.parse import FileUnreadable, parse
from mcm_auth.imports.router import MAX_BYTES
from mcm_auth.internal.client import ServiceUnavailable
from mcm_auth.main import build_runtime
from mcm_shared.db import Database
from mcm_shared.security import Role


async def _run(settings: Settings, body: bytes, admin_email: str, *, dry_run: bool) -> int:
    async with AsyncExitStack() as stack:
        database = Database(settings.creds_database_url or "")
        stack.push_async_callback(database.dispose)
        redis = Redis.from_url(settings.redis_url or "redis://127.0.0.1:6379/0")
        stack.push_async_callback(redis.aclose)
        runtime = await build_runtime(settings, database, redis, stack)
        async with database.session() as session:
            admin = await accounts.user_by_email(session, admin_email)
            if admin is None or not admin.active or Role.ADMIN.value not in admin.roles:
                print(f"import: {admin_email} is not an active admin account", file=sys.stderr)
                return 2
            try:
                report = await service.run(session, runtime, admin, parse(body), dry_run=dry_run)
            except ImportRefused as refused:
                print(refused.detail, file=sys.stderr)
                for problem in refused.errors or []:
                    print(f"line {problem['line']}: {problem['message']}", file=sys.stderr)
                return 1
            except ServiceUnavailable as error:
                print(f"import: {error.detail}", file=sys.stderr)
                return 1
        print(report.model_dump_json(indent=2))
        return 1 if report.problems else 0


def import_file(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mcm_auth import", description="Import circles and members (docs/imports.md)")
    parser.add_argument("file", type=Path)
    parser.add_argument("--as", dest="admin", required=True, help="the admin account's email: the inviter")
    parser.add_argument("--dry-run", action="store_true", help="check and report only; write nothing")
    args = parser.parse_args(argv)
    settings = Settings()
    if not settings.creds_database_url:
        print("import: CREDS_DATABASE_URL is not set", file=sys.stderr)
        return 2
    try:
        body = args.file.read_bytes()
        admin_email = normalise_email(args.admin)
    except (OSError, ValueError) as error:
        print(f"import: {error}", file=sys.stderr)
        return 2
    if len(body) > MAX_BYTES:
        print(f"import: the file is larger than {MAX_BYTES:,} bytes; split it", file=sys.stderr)
        return 2
    try:
        parse(body)
    except FileUnreadable as error:
        print(f"import: {error}", file=sys.stderr)
        return 2
    return asyncio.run(_run(settings, body, admin_email, dry_run=args.dry_run))
