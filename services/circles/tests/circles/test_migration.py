"""The 0002 migration and the models describe the same tables (no autogenerate drift)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Table

from mcm_circles.models import metadata

OWN_TABLES = {
    "profiles",
    "circles",
    "memberships",
    "transfer_requests",
    "meetings",
    "attendance",
    "goals",
    "outbox",
    "inbox",
    "staff_actions",
}


def _tables(diff) -> set[str]:
    """Names of the tables a diff entry from compare_metadata is about."""
    if isinstance(diff, list):  # modify_* entries come grouped per column
        return set().union(*(_tables(entry) for entry in diff))
    kind, *args = diff
    if kind.startswith("modify_"):
        return {args[1]}  # (kind, schema, table, column, ...)
    for arg in args:
        if isinstance(arg, Table):
            return {arg.name}
        table = getattr(arg, "table", None)
        if isinstance(table, Table):
            return {table.name}
    return {"?"}


async def test_models_match_the_migrations(api):
    def compare(connection):
        context = MigrationContext.configure(
            connection,
            opts={
                "include_schemas": True,
                "include_name": lambda name, type_, parent: type_ != "schema" or name == "circles",
                "compare_type": True,
            },
        )
        return compare_metadata(context, metadata)

    async with api.db.engine.connect() as connection:
        diffs = await connection.run_sync(compare)
    own = [diff for diff in diffs if _tables(diff) & (OWN_TABLES | {"?"})]
    assert own == [], own


async def test_pg_trgm_is_installed_by_the_migration(api):
    assert await api.scalar("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'") == 1
