"""Pydantic schemas for profiles."""

from __future__ import annotations

import uuid

from mcm_circles.schemas_common import Output


class Profile(Output):
    user_id: uuid.UUID
    display_name: str
    verified_email: bool
    verified_phone: bool
