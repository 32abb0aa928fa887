"""The body of every service's Alembic `env.py`: async engine, the service's own schema and
version table, online mode only (migrations always run against a live database).
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import MetaData, pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from mcm_shared.db import to_async_url


def _run_sync(connection: Connection, metadata: MetaData, schema: str | None, version_table: str) -> None:
    if schema:
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=version_table,
        version_table_schema=schema,
        include_schemas=bool(schema),
        include_name=lambda name, type_, parent: type_ != "schema" or name == schema,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str, metadata: MetaData, schema: str | None, version_table: str) -> None:
    engine = create_async_engine(to_async_url(url), poolclass=pool.NullPool)
    try:
        async with engine.begin() as connection:
            # One migrator at a time, even when several replicas start together.
            await connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": version_table})
            await connection.run_sync(_run_sync, metadata, schema, version_table)
    finally:
        await engine.dispose()


def run_env(metadata: MetaData) -> None:
    config = context.config
    url = config.get_main_option("sqlalchemy.url")
    if url is None:  # mcm_shared.migrations always sets it; a bare `alembic` run may not
        raise SystemExit("sqlalchemy.url is not set; run migrations through the service's `migrate` command")
    schema = config.attributes.get("version_table_schema")
    version_table = config.attributes.get("version_table", "alembic_version")
    if context.is_offline_mode():
        raise SystemExit("offline migrations are not supported; run against a database")
    asyncio.run(_run_async(url, metadata, schema, version_table))
