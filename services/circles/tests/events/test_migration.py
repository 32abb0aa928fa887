"""Migration 0003 builds exactly the tables the events models declare, and goes back down."""

from __future__ import annotations

import asyncio

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from mcm_circles.db import MIGRATIONS_DIR, SCHEMA, VERSION_TABLE, Base
from mcm_circles.events import models  # noqa: F401  (registers the events tables on Base)
from mcm_shared.migrations import alembic_config

from .support import World

EVENT_TABLES = {
    "event_types",
    "events",
    "event_circles",
    "event_invitations",
    "event_requirements",
    "event_requirement_templates",
    "event_registrations",
    "event_staff",
}


def _diff(connection):
    def include_name(name, kind, parent):
        return kind != "schema" or name == SCHEMA

    def include_object(obj, name, kind, reflected, compare_to):
        table = obj if kind == "table" else getattr(obj, "table", None)
        return table is None or table.name in EVENT_TABLES

    context = MigrationContext.configure(
        connection,
        opts={
            "include_schemas": True,
            "include_name": include_name,
            "include_object": include_object,
            "compare_type": True,
        },
    )
    return compare_metadata(context, Base.metadata)


async def test_models_and_migration_agree(world: World):
    async with world.db.engine.connect() as connection:
        diff = await connection.run_sync(_diff)
    assert diff == [], "\n".join(map(str, diff))


async def test_event_types_are_seeded_and_downgrade_removes_only_the_events_tables(world: World):
    async with world.db.engine.connect() as connection:
        codes = (await connection.execute(text("SELECT code FROM circles.event_types ORDER BY code"))).scalars().all()
    assert codes == ["day_retreat", "meetup", "movie_night", "multi_day_retreat", "workshop"]
    url = world.app.state.settings.database_url
    config = alembic_config(MIGRATIONS_DIR, url, version_table=VERSION_TABLE, schema=SCHEMA)
    await world.db.dispose()
    await world.app.state.db.dispose()
    await asyncio.to_thread(command.downgrade, config, "0002")
    async with world.db.engine.connect() as connection:
        tables = set(
            (await connection.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'circles'"))).scalars()
        )
    assert not tables & EVENT_TABLES and {"circles", "profiles", "outbox"} <= tables
    await asyncio.to_thread(command.upgrade, config, "head")
