"""`python -m mcm_messaging serve|migrate`."""

from mcm_messaging.config import Settings
from mcm_messaging.db import MIGRATIONS_DIR, SCHEMA, VERSION_TABLE
from mcm_shared.cli import run_cli
from mcm_shared.migrations import migrate_command


def migrate() -> None:
    migrate_command(MIGRATIONS_DIR, Settings().database_url, version_table=VERSION_TABLE, schema=SCHEMA)


if __name__ == "__main__":
    run_cli(
        "mcm_messaging",
        app_path="mcm_messaging.main:create_app",
        port_env="MESSAGING_PORT",
        default_port=8004,
        migrate=migrate,
    )
