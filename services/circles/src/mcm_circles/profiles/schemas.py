"""Pydantic schemas for profiles."""

from __future__ import annotations

import uuid

from mcm_circles.schemas_common import Input, Output


class Profile(Output):
    user_id: uuid.UUID
    display_name: str
    verified_email: bool
    verified_phone: bool
    directory_visible: bool


class ProfileUpdate(Input):
    """What a member sets about himself here (his name and contact details are auth's)."""

    directory_visible: bool | None = None
