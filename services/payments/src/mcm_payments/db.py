"""The payments service's declarative base: every table lives in the `payments` schema."""
from __future__ import annotations

from pathlib import Path

from mcm_shared.db import make_base
from mcm_shared.migrations import locate_migrations

SCHEMA = "payments"
VERSION_TABLE = "alembic_version_payments"

Base = make_base(SCHEMA)
MIGRATIONS_DIR: Path = locate_migrations("mcm_payments", Path(__file__))
