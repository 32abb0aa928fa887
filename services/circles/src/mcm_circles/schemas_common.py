"""Small Pydantic building blocks shared by the service's schemas."""

from __future__ import annotations

from functools import cache
from typing import Annotated
from zoneinfo import ZoneInfo, available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints


class Input(BaseModel):
    """Request bodies: unknown fields are refused, so no client can set a field it may not."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def _no_control_characters(value: str) -> str:
    if any(ord(char) < 32 and char not in "\n\t" for char in value):
        raise ValueError("control characters are not allowed")
    return value


def bounded(max_length: int, min_length: int = 0) -> StringConstraints:
    """The constraints of a free-text field: stripped, between the given lengths. Used as
    `Annotated[str, bounded(...), PRINTABLE]` (a class statement, so type checkers see a `str`)."""
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)


PRINTABLE = AfterValidator(_no_control_characters)

Name = Annotated[str, bounded(120, 1), PRINTABLE]
ShortText = Annotated[str, bounded(500), PRINTABLE]
Address = Annotated[str, bounded(300, 1), PRINTABLE]


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _valid_timezone(value: str) -> str:
    # The allow-list comes first: ZoneInfo() alone would also try odd keys from the file system.
    if value not in _zones():
        raise ValueError("not a known IANA time zone (e.g. Europe/Berlin)")
    ZoneInfo(value)
    return value


TimeZoneName = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_valid_timezone)]
