"""Session-wide database and Redis servers for tests.

Embedded engines are started once per test session unless `TEST_DATABASE_URL` (a server URL
whose user may create databases) and `TEST_REDIS_URL` are given. Each caller asks for a fresh
database by name, so services and tests never share state by accident.

`migrated_copy` is the one way a service's tests get a database at head: the first call migrates
a template database once per session (per migrations folder), every call clones it
(`CREATE DATABASE ... TEMPLATE`, a file copy: far quicker than running the migrations again).

The embedded PostgreSQL here runs with FAST settings (fsync, synchronous_commit and
full_page_writes off): its databases are thrown away at the end of the session, so a crash can
cost nothing worth keeping, and a commit without a disk flush keeps the suite quick. Tests that
prove durability (tests/fault/test_durability.py) start their own server with the durable
settings `make run` uses.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information

from mcm_devstack.engines import EmbeddedPostgres, EmbeddedRedis
from mcm_shared.migrations import migrate_command


@dataclass
class TestEngines:
    server_url: str  # postgresql://user@host:port/<db> for the maintenance database
    redis_url: str
    postgres: EmbeddedPostgres | None = None
    redis: EmbeddedRedis | None = None
    created: list[str] = field(default_factory=list)
    templates: dict[tuple[str, str, str | None], str] = field(default_factory=dict)  # see migrated_copy
    _template_lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)
    root: Path | None = None  # the engines' data, removed by stop() (a full run leaves GBs)

    def url_for(self, database: str) -> str:
        base, _, _ = self.server_url.rpartition("/")
        return f"{base}/{database}"

    async def create_database(self, prefix: str) -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        connection = await asyncpg.connect(self.server_url)
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        self.created.append(name)
        return self.url_for(name)

    async def migrated_template(
        self, migrations_dir: Path, *, version_table: str, schema: str | None, prefix: str = "tpl"
    ) -> str:
        """The name of a database migrated to head with these scripts, made once per session."""
        key = (str(migrations_dir), version_table, schema)
        async with self._template_lock:  # two tests asking at once must not migrate twice
            if key not in self.templates:
                url = await self.create_database(f"{prefix}_tpl")
                await asyncio.to_thread(
                    migrate_command, migrations_dir, url, version_table=version_table, schema=schema
                )
                self.templates[key] = url.rpartition("/")[2]
        return self.templates[key]

    async def clone_database(self, template: str, prefix: str) -> str:
        """A new database copied from `template` (which nobody may be connected to); its URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        connection = await asyncpg.connect(self.server_url)
        try:
            await connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        finally:
            await connection.close()
        self.created.append(name)
        return self.url_for(name)

    async def migrated_copy(self, migrations_dir: Path, *, version_table: str, schema: str | None, prefix: str) -> str:
        """The URL of a fresh database at head, of its own (see the module docstring)."""
        template = await self.migrated_template(
            migrations_dir, version_table=version_table, schema=schema, prefix=prefix
        )
        return await self.clone_database(template, prefix)

    def stop(self) -> None:
        if self.redis:
            self.redis.stop()
        if self.postgres:
            self.postgres.stop(mode="immediate")
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)


def start_test_engines() -> TestEngines:
    database_url = os.environ.get("TEST_DATABASE_URL")
    redis_url = os.environ.get("TEST_REDIS_URL")
    root = Path(tempfile.mkdtemp(prefix="mcm-test-"))
    postgres = redis = None
    if not database_url:
        postgres = EmbeddedPostgres(root / "pg", durable=False).start()  # throwaway data
        database_url = postgres.url("postgres")
    if not redis_url:
        redis = EmbeddedRedis(root / "redis", persist=False).start()
        redis_url = redis.url()
    return TestEngines(server_url=database_url, redis_url=redis_url, postgres=postgres, redis=redis, root=root)
