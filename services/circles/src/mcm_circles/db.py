"""The circles service's declarative base: every table lives in the `circles` schema."""

from __future__ import annotations

from pathlib import Path

from mcm_shared.db import make_base
from mcm_shared.migrations import locate_migrations

SCHEMA = "circles"
VERSION_TABLE = "alembic_version_circles"

Base = make_base(SCHEMA)
MIGRATIONS_DIR: Path = locate_migrations("mcm_circles", Path(__file__))
