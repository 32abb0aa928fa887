"""Who is calling, as a user: the id every user-facing use case acts as."""

from __future__ import annotations

import uuid

from mcm_shared.errors import Forbidden
from mcm_shared.security import Principal


def actor_id(principal: Principal) -> uuid.UUID:
    """The calling user's id; service tokens have no place in these user-facing routes."""
    if principal.user_id is None:
        raise Forbidden("This action needs a user account.")
    return principal.user_id
