"""The payments service's declarative base: every table lives in the `payments` schema."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import DateTime
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.orm import DeclarativeBase

from mcm_shared.db import Entity, make_metadata
from mcm_shared.migrations import locate_migrations

SCHEMA = "payments"
VERSION_TABLE = "alembic_version_payments"

MIGRATIONS_DIR: Path = locate_migrations("mcm_payments", Path(__file__))


class Base(DeclarativeBase):
    """What mcm_shared.db.make_base(SCHEMA) builds, spelt out as a class so type checkers see it."""

    metadata = make_metadata(SCHEMA)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: DateTime(timezone=True),
        uuid.UUID: PG_UUID(as_uuid=True),
    }


class Record(Entity):
    """UUID id, created_at and updated_at. `updated_at` is set by the database on every UPDATE;
    eager defaults fetch it back with RETURNING, so objects stay readable after a commit
    (sessions never lazy-load)."""

    __mapper_args__: ClassVar[dict[str, Any]] = {"eager_defaults": True}
