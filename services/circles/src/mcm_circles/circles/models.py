"""A circle: a small peer group with a schedule, a capacity and optional monthly dues.

`status`, `open_seats` and `search_text` are generated columns, so filters and sorts on them
use plain indexes and can never disagree with `member_count`.
"""

from __future__ import annotations

import uuid
from datetime import datetime, time

from sqlalchemy import Boolean, CheckConstraint, Computed, Index, Integer, SmallInteger, String, Text, Time, false, text
from sqlalchemy.orm import Mapped, mapped_column

from mcm_circles.db import Base
from mcm_shared.db import Entity

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
FREQUENCIES = ("weekly", "biweekly", "monthly")
VISIBILITIES = ("public", "private")
JOIN_POLICIES = ("open", "approval")
STATUSES = ("forming", "active", "full", "archived")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


STATUS_SQL = (
    "CASE WHEN archived_at IS NOT NULL THEN 'archived' "
    "WHEN member_count >= capacity_max THEN 'full' "
    "WHEN member_count < capacity_min THEN 'forming' ELSE 'active' END"
)
OPEN_SEATS_SQL = "CASE WHEN archived_at IS NOT NULL THEN 0 ELSE capacity_max - member_count END"
SEARCH_SQL = "lower(name || ' ' || description)"


class Circle(Entity, Base):
    __tablename__ = "circles"
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012 (SQLAlchemy reads it from the class)

    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    capacity_max: Mapped[int] = mapped_column(SmallInteger)
    capacity_min: Mapped[int] = mapped_column(SmallInteger)
    schedule_weekday: Mapped[str] = mapped_column(String(9))
    schedule_time: Mapped[time] = mapped_column(Time)
    schedule_timezone: Mapped[str] = mapped_column(String(64))
    schedule_frequency: Mapped[str] = mapped_column(String(8))
    location_city: Mapped[str | None] = mapped_column(String(100))
    location_online: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Where exactly it meets: shown only to its members, facilitators and staff (never listed).
    location_address: Mapped[str | None] = mapped_column(String(300))
    location_video_url: Mapped[str | None] = mapped_column(String(500))
    visibility: Mapped[str] = mapped_column(String(7))
    join_policy: Mapped[str] = mapped_column(String(8))
    dues_amount: Mapped[int | None] = mapped_column(Integer)
    dues_currency: Mapped[str | None] = mapped_column(String(3))
    # Active members holding a seat (facilitators do not), kept in the same transaction as the
    # membership change, under a row lock on this circle.
    member_count: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    archived_at: Mapped[datetime | None]
    created_by: Mapped[uuid.UUID]
    # The key a bulk import gave it (docs/imports.md): re-importing the file matches it by this key.
    import_key: Mapped[str | None] = mapped_column(String(64), unique=True)

    status: Mapped[str] = mapped_column(String(8), Computed(STATUS_SQL, persisted=True))
    open_seats: Mapped[int] = mapped_column(Integer, Computed(OPEN_SEATS_SQL, persisted=True))
    search_text: Mapped[str] = mapped_column(Text, Computed(SEARCH_SQL, persisted=True), deferred=True)

    __table_args__ = (
        CheckConstraint("capacity_max BETWEEN 2 AND 10", name="capacity_max_range"),
        CheckConstraint("capacity_min >= 2 AND capacity_min <= capacity_max", name="capacity_min_range"),
        CheckConstraint("member_count >= 0 AND member_count <= capacity_max", name="member_count_within_capacity"),
        CheckConstraint(_in("schedule_weekday", WEEKDAYS), name="weekday"),
        CheckConstraint(_in("schedule_frequency", FREQUENCIES), name="frequency"),
        CheckConstraint(_in("visibility", VISIBILITIES), name="visibility"),
        CheckConstraint(_in("join_policy", JOIN_POLICIES), name="join_policy"),
        CheckConstraint(
            "(dues_amount IS NULL AND dues_currency IS NULL) OR "
            "(dues_amount BETWEEN 1 AND 1000000 AND dues_currency ~ '^[A-Z]{3}$')",
            name="dues",
        ),
        CheckConstraint("location_online OR location_city IS NOT NULL", name="location"),
        CheckConstraint("location_video_url IS NULL OR location_video_url LIKE 'https://%'", name="video_url_https"),
        # Sorts (keyset on value + id) and filters of GET /api/v1/circles.
        Index("ix_circles_name_id", "name", "id"),
        Index("ix_circles_created_at_id", "created_at", "id"),
        Index("ix_circles_open_seats_id", "open_seats", "id"),
        Index("ix_circles_status", "status"),
        Index("ix_circles_city", text("lower(location_city)")),
        Index("ix_circles_online", "location_online"),
        Index("ix_circles_weekday", "schedule_weekday"),
        Index("ix_circles_visibility", "visibility"),
        Index(
            "ix_circles_search_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ),
    )
