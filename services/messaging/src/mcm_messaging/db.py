"""The messaging service's declarative base: every table lives in the `messaging` schema."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import DateTime
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.orm import DeclarativeBase

from mcm_shared.db import make_metadata
from mcm_shared.migrations import locate_migrations

SCHEMA = "messaging"
VERSION_TABLE = "alembic_version_messaging"

MIGRATIONS_DIR: Path = locate_migrations("mcm_messaging", Path(__file__))


class Base(DeclarativeBase):
    """What mcm_shared.db.make_base(SCHEMA) builds, spelt out as a class so type checkers see it."""

    metadata = make_metadata(SCHEMA)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: DateTime(timezone=True),
        uuid.UUID: PG_UUID(as_uuid=True),
    }
