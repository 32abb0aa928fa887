"""How times read in entries and reminders: in the circle's timezone (members have none of their
own on the platform; docs/messaging.md), with the zone named."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def local(moment: datetime, timezone: str | None) -> str:
    """e.g. 'Monday 29 March 2027, 19:00 (Europe/Berlin)'."""
    shown = moment.astimezone(zone(timezone))
    return f"{shown:%A} {shown.day} {shown:%B %Y, %H:%M} ({zone(timezone).key})"


def where(details: dict[str, Any]) -> str:
    """'Address: … · Video link: …' from what circles sent (one line: auth's templates keep
    substituted values on one line), or '' when it sent neither."""
    parts = [
        f"{label}: {details[key]}"
        for key, label in (("address", "Address"), ("video_url", "Video link"))
        if details.get(key)
    ]
    return " · ".join(parts)
