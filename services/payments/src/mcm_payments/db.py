"""The payments service's declarative base: every table lives in the `payments` schema."""

from __future__ import annotations

from pathlib import Path

from mcm_shared.db import Entity, make_base
from mcm_shared.migrations import locate_migrations

SCHEMA = "payments"
VERSION_TABLE = "alembic_version_payments"

Base = make_base(SCHEMA)
MIGRATIONS_DIR: Path = locate_migrations("mcm_payments", Path(__file__))


class Record(Entity):
    """UUID id, created_at and updated_at. `updated_at` is set by the database on every UPDATE;
    eager defaults fetch it back with RETURNING, so objects stay readable after a commit
    (sessions never lazy-load)."""

    __mapper_args__ = {"eager_defaults": True}
