"""The auth service's declarative base: every table lives in the `auth` schema of the
credentials database."""

from __future__ import annotations

from pathlib import Path

from mcm_shared.db import make_base
from mcm_shared.migrations import locate_migrations

SCHEMA = "auth"
VERSION_TABLE = "alembic_version_auth"

Base = make_base(SCHEMA)
MIGRATIONS_DIR: Path = locate_migrations("mcm_auth", Path(__file__))
