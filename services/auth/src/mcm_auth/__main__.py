"""`python -m mcm_auth serve|migrate|create-admin|rotate-key|import`."""

from mcm_auth.commands import create_admin, rotate_key
from mcm_auth.config import Settings
from mcm_auth.db import MIGRATIONS_DIR, SCHEMA, VERSION_TABLE
from mcm_auth.import_command import import_file
from mcm_shared.cli import run_cli
from mcm_shared.migrations import migrate_command


def migrate() -> None:
    migrate_command(MIGRATIONS_DIR, Settings().creds_database_url, version_table=VERSION_TABLE, schema=SCHEMA)


if __name__ == "__main__":
    run_cli(
        "mcm_auth",
        app_path="mcm_auth.main:create_app",
        port_env="AUTH_PORT",
        default_port=8001,
        migrate=migrate,
        commands={"create-admin": create_admin, "rotate-key": rotate_key, "import": import_file},
    )
