"""What accounts tell other services (stream `events:auth`). Never contact details: other
services know a user by id and display name, plus whether his email/phone are proved.

  user.registered  {user_id, display_name, email_verified, phone_verified, roles, active}
  user.updated     the same fields — rename, verification, role change, disable/enable
  user.erased      {user_id, erased_at}
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_auth.accounts.models import User


def public_fields(user: User) -> dict[str, Any]:
    return {
        "user_id": user.id,
        "display_name": user.display_name,
        "email_verified": user.email_verified_at is not None,
        "phone_verified": user.phone_verified_at is not None,
        "roles": list(user.roles),
        "active": user.active,
    }


async def announce(session: AsyncSession, writer: Any, event_type: str, user: User) -> None:
    """Add `user.registered` or `user.updated` to the caller's transaction."""
    await writer.publish(session, event_type, public_fields(user), key=str(user.id))
