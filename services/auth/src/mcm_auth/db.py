"""The auth service's declarative base: every table lives in the `auth` schema of the
credentials database."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

from sqlalchemy import DateTime
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.orm import DeclarativeBase

from mcm_shared.db import make_metadata
from mcm_shared.migrations import locate_migrations

SCHEMA = "auth"
VERSION_TABLE = "alembic_version_auth"


class Base(DeclarativeBase):
    """A class statement rather than `make_base(SCHEMA)`, so the type checker knows the models'
    base; the same metadata (schema, naming convention) and column types as make_base."""

    metadata = make_metadata(SCHEMA)
    type_annotation_map = {  # noqa: RUF012 (SQLAlchemy reads it as a class attribute)
        datetime: DateTime(timezone=True),
        uuid.UUID: PG_UUID(as_uuid=True),
    }


MIGRATIONS_DIR: Path = locate_migrations("mcm_auth", Path(__file__))
