"""Staff acting for one member. Each action is audited (who, whom, what, why, when) in the same
transaction as its effect, and the assisting actions are rate-limited per staff member too.

The overview is assembled from auth's own records and circles' and payments' internal overview
routes; a service that does not answer leaves its lists `null` and is named in `unavailable`,
so the page still shows the rest and nobody mistakes "unknown" for "none".
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_auth.accounts import service as accounts
from mcm_auth.accounts.errors import AccountNotFound
from mcm_auth.accounts.models import User
from mcm_auth.admin.errors import NotOnYourself
from mcm_auth.internal.client import ServiceUnavailable
from mcm_auth.passwords import service as passwords
from mcm_auth.privacy import service as privacy
from mcm_auth.ratelimit import hit
from mcm_auth.roles.models import AuditEntry
from mcm_auth.runtime import AuthRuntime
from mcm_auth.sessions import manage as sessions
from mcm_auth.verification import service as verification

# Assisting actions one staff member may take per hour, across members (each member's own
# limits on codes and reset links apply as well).
ASSISTS_PER_STAFF_PER_HOUR = 30
OVERVIEW_REASON = "support overview"


async def _member(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await accounts.get_user(session, user_id)
    if user is None:
        raise AccountNotFound("No such user.")
    return user


def _audit(session: AsyncSession, *, actor_id: uuid.UUID, user: User, action: str, reason: str) -> None:
    session.add(AuditEntry(actor_id=actor_id, subject_id=user.id, action=action, details={}, reason=reason))


def _status(user: User) -> str:
    if user.erased_at is not None:
        return "erased"
    return "disabled" if user.disabled_at is not None else "active"


async def overview(
    session: AsyncSession, runtime: AuthRuntime, *, actor_id: uuid.UUID, user_id: uuid.UUID
) -> dict[str, Any]:
    user = await _member(session, user_id)
    account = {
        "id": user.id,
        "display_name": user.display_name,
        "roles": user.roles,
        "status": _status(user),
        "created_at": user.created_at,
        # Support may read the email address (GET /api/v1/users shows it to users:read); the
        # phone number stays with him: only whether it is verified.
        "email": user.email,
        "verification": {
            "email_verified": user.email_verified_at is not None,
            "email_verified_at": user.email_verified_at,
            "phone_set": user.phone is not None,
            "phone_verified": user.phone_verified_at is not None,
            "phone_verified_at": user.phone_verified_at,
        },
    }
    recent = await sessions.recent_sessions(session, user_id=user.id)
    _audit(session, actor_id=actor_id, user=user, action="overview.viewed", reason=OVERVIEW_REASON)
    await session.commit()  # audited before anything is shown; no transaction held during the calls
    path = f"/internal/v1/users/{user.id}/overview"
    circles, payments = await asyncio.gather(_part(runtime, "circles", path), _part(runtime, "payments", path))
    return {
        "account": account,
        "sessions": recent,
        "memberships": circles and circles.get("memberships"),
        "registrations": circles and circles.get("registrations"),
        "obligations": payments and payments.get("obligations"),
        "payments": payments and payments.get("payments"),
        "unavailable": [name for name, part in (("circles", circles), ("payments", payments)) if part is None],
    }


async def _part(runtime: AuthRuntime, service: str, path: str) -> dict[str, Any] | None:
    try:
        answer = await runtime.internal.get(service, path)
    except ServiceUnavailable:
        return None
    return answer if isinstance(answer, dict) else None


async def _limit_staff(runtime: AuthRuntime, actor_id: uuid.UUID) -> None:
    await hit(
        runtime.redis,
        f"auth:assist:staff:{actor_id}",
        limit=ASSISTS_PER_STAFF_PER_HOUR,
        window_seconds=3600,
        detail="Too many actions for members this hour; try again later.",
    )


async def resend_verification(
    session: AsyncSession, runtime: AuthRuntime, *, actor_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    """A fresh email verification code, sent to his own address."""
    user = await _member(session, user_id)
    await _limit_staff(runtime, actor_id)
    await verification.resend_email_code_on_behalf(session, runtime, user=user)
    _audit(session, actor_id=actor_id, user=user, action="verification.resent", reason="support: resend code")
    await session.commit()


async def start_password_reset(
    session: AsyncSession, runtime: AuthRuntime, *, actor_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    """A reset link to his own address; nothing of it reaches support."""
    user = await _member(session, user_id)
    await _limit_staff(runtime, actor_id)
    await passwords.start_reset_on_behalf(session, runtime, user=user)
    _audit(session, actor_id=actor_id, user=user, action="password_reset.started", reason="support: reset link")
    await session.commit()


async def export_on_behalf(
    session: AsyncSession, runtime: AuthRuntime, *, actor_id: uuid.UUID, user_id: uuid.UUID, reason: str
) -> dict[str, Any]:
    """His export (the same document he gets himself), for an admin answering his request."""
    user = await _member(session, user_id)
    _audit(session, actor_id=actor_id, user=user, action="account.exported", reason=reason)
    await session.commit()
    return await privacy.export_everything(session, runtime, user=user)


async def erase_on_behalf(
    session: AsyncSession, runtime: AuthRuntime, *, actor_id: uuid.UUID, user_id: uuid.UUID, reason: str
) -> None:
    if actor_id == user_id:
        raise NotOnYourself("Erase your own account with DELETE /api/v1/auth/me.")
    await privacy.erase_on_behalf(session, runtime, actor_id=actor_id, user_id=user_id, reason=reason)
