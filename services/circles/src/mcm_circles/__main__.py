"""`python -m mcm_circles serve|migrate`."""

from mcm_circles.config import Settings
from mcm_circles.db import MIGRATIONS_DIR, SCHEMA, VERSION_TABLE
from mcm_shared.cli import run_cli
from mcm_shared.migrations import migrate_command


def migrate() -> None:
    migrate_command(MIGRATIONS_DIR, Settings().database_url, version_table=VERSION_TABLE, schema=SCHEMA)


if __name__ == "__main__":
    run_cli(
        "mcm_circles",
        app_path="mcm_circles.main:create_app",
        port_env="CIRCLES_PORT",
        default_port=8002,
        migrate=migrate,
    )
