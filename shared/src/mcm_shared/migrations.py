"""Alembic helpers: each service has its own history and version table; readiness requires the
database to be at head.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


def alembic_config(migrations_dir: Path, url: str, *, version_table: str, schema: str | None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["version_table"] = version_table
    config.attributes["version_table_schema"] = schema
    return config


def upgrade_to_head(config: Config) -> None:
    from alembic import command

    command.upgrade(config, "head")


def head_revisions(migrations_dir: Path) -> set[str]:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    return set(ScriptDirectory.from_config(config).get_heads())


class MigrationCheck:
    """Readiness probe: the version table holds exactly the heads of the migration scripts."""

    def __init__(
        self, engine_of: Callable[[], AsyncEngine], migrations_dir: Path, *, version_table: str, schema: str | None
    ) -> None:
        self._engine_of = engine_of
        self._heads = head_revisions(migrations_dir)
        table = f'"{schema}"."{version_table}"' if schema else f'"{version_table}"'
        # The names come from the service's own settings, never from a request.
        self._query = text(f"SELECT version_num FROM {table}")  # noqa: S608
        self._confirmed = False

    async def __call__(self) -> None:
        engine: AsyncEngine = self._engine_of()
        async with engine.connect() as connection:
            if self._confirmed:
                # Once at head, a cheap round trip is enough: migrations never go backwards live.
                await connection.execute(text("SELECT 1"))
                return
            rows = (await connection.execute(self._query)).scalars().all()
        if set(rows) != self._heads:
            raise RuntimeError(f"migrations not at head: {sorted(rows)} != {sorted(self._heads)}")
        self._confirmed = True


def locate_migrations(package: str, module_file: Path) -> Path:
    """A service's Alembic folder: bundled in the wheel as `<package>/_migrations`, or the
    `migrations/` folder beside `src/` in a source checkout (editable installs)."""
    bundled = module_file.parent / "_migrations"
    if bundled.is_dir():
        return bundled
    source = module_file.resolve().parents[2] / "migrations"
    if source.is_dir():
        return source
    raise RuntimeError(f"{package}: migrations folder not found next to {module_file}")


def migrate_command(migrations_dir: Path, url: str | None, *, version_table: str, schema: str | None) -> None:
    if not url:
        raise SystemExit("no database URL configured; set it in the environment")
    upgrade_to_head(alembic_config(migrations_dir, url, version_table=version_table, schema=schema))
