"""Pydantic schemas of the directory: public fields only (no email, no phone, no verification state)."""

from __future__ import annotations

import uuid

from mcm_circles.schemas_common import Output


class DirectoryCircle(Output):
    id: uuid.UUID
    name: str


class DirectoryEntry(Output):
    user_id: uuid.UUID
    display_name: str
    circles: list[DirectoryCircle]
