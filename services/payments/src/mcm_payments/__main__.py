"""`python -m mcm_payments serve|migrate`."""

from mcm_payments.config import Settings
from mcm_payments.db import MIGRATIONS_DIR, SCHEMA, VERSION_TABLE
from mcm_shared.cli import run_cli
from mcm_shared.migrations import migrate_command


def migrate() -> None:
    migrate_command(MIGRATIONS_DIR, Settings().database_url, version_table=VERSION_TABLE, schema=SCHEMA)


if __name__ == "__main__":
    run_cli(
        "mcm_payments",
        app_path="mcm_payments.main:create_app",
        port_env="PAYMENTS_PORT",
        default_port=8003,
        migrate=migrate,
    )
