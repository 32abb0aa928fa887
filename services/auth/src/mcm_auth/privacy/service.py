"""The user's own data: export and erasure. Each use case commits once.

Erasure keeps the row (other services know the user id, and audit entries point at it) but
removes everything that identifies or reaches the person: email, phone, password, Google link,
codes, reset tokens, preferences and any message not yet sent. Other services learn of it from
`user.erased` and drop the display name they hold.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_auth.accounts.errors import AccountUnavailable
from mcm_auth.accounts.models import User
from mcm_auth.accounts.service import get_user, get_user_for_update
from mcm_auth.admin.service import ensure_not_last_admin, lock_admins
from mcm_auth.invitations.service import forget_address
from mcm_auth.notifications.models import NotificationPreference
from mcm_auth.notifications.service import get_preferences
from mcm_auth.outbox.models import OutboundMessage
from mcm_auth.passwords.errors import WrongCurrentPassword
from mcm_auth.passwords.models import PasswordReset
from mcm_auth.roles.models import AuditEntry
from mcm_auth.runtime import AuthRuntime
from mcm_auth.sessions.models import Session
from mcm_auth.sessions.revocation import revoke_sessions
from mcm_auth.sessions.throttle import LoginThrottle
from mcm_auth.verification.models import VerificationCode
from mcm_shared.security import Role

ERASED_NAME = "Deleted member"


async def export(session: AsyncSession, *, user: User) -> dict[str, Any]:
    sessions = await session.scalars(select(Session).where(Session.user_id == user.id).order_by(Session.created_at))
    audit = await session.scalars(
        select(AuditEntry).where(AuditEntry.subject_id == user.id).order_by(AuditEntry.created_at)
    )
    addresses = [value for value in (user.email, user.phone) if value]
    messages: Iterable[OutboundMessage] = (
        await session.scalars(
            select(OutboundMessage).where(OutboundMessage.recipient.in_(addresses)).order_by(OutboundMessage.created_at)
        )
        if addresses
        else []
    )
    return {
        "exported_at": datetime.now(UTC),
        "account": {
            "id": user.id,
            "email": user.email,
            "email_verified_at": user.email_verified_at,
            "phone": user.phone,
            "phone_verified_at": user.phone_verified_at,
            "display_name": user.display_name,
            "roles": user.roles,
            "google_linked": user.google_subject is not None,
            "password_set": user.password_hash is not None,
            "password_changed_at": user.password_changed_at,
            "created_at": user.created_at,
        },
        "sessions": [
            {
                "id": s.id,
                "user_agent": s.user_agent,
                "ip_address": s.ip_address,
                "created_at": s.created_at,
                "last_used_at": s.last_used_at,
                "revoked_at": s.revoked_at,
                "revoked_reason": s.revoked_reason,
            }
            for s in sessions
        ],
        "notification_preferences": (await get_preferences(session, user_id=user.id)).model_dump()["topics"],
        "messages": [
            {
                "channel": m.channel,
                "template": m.template,
                "subject": m.subject,
                "created_at": m.created_at,
                "sent_at": m.sent_at,
            }
            for m in messages
        ],
        "role_audit": [
            {
                "action": a.action,
                "details": a.details,
                "reason": a.reason,
                "actor_id": a.actor_id,
                "created_at": a.created_at,
            }
            for a in audit
        ],
    }


async def erase(
    session: AsyncSession,
    runtime: AuthRuntime,
    *,
    user_id: uuid.UUID,
    password: str | None,
    client_ip: str | None = None,
) -> None:
    user = await get_user(session, user_id)
    if user is None:  # the caller's dependency loaded it a moment ago
        raise AccountUnavailable("The session has ended; sign in again.")
    checked_hash, throttle_key = user.password_hash, user.email or str(user.id)
    # The password is checked with no transaction open (no connection, no admin lock held
    # through bcrypt); the erasure then goes on only if the locked row still holds that hash.
    await session.commit()
    if checked_hash is not None:
        # Counted like a failed sign-in, so a stolen session cannot guess the password here.
        throttle = LoginThrottle(runtime.redis, runtime.settings)
        await throttle.ensure_client_allowed(throttle_key, client_ip)
        if not await runtime.hasher.verify(password or "", checked_hash):
            await throttle.record_failure(throttle_key, client_ip)
            raise WrongCurrentPassword("Confirm with your current password to delete the account.")
    await lock_admins(session)
    user = await get_user_for_update(session, user_id)
    if user is None or not user.active:
        await session.rollback()
        raise AccountUnavailable("The session has ended; sign in again.")
    if user.password_hash != checked_hash:
        await session.rollback()
        raise WrongCurrentPassword("Confirm with your current password to delete the account.")
    await ensure_not_last_admin(session, user)
    now = datetime.now(UTC)
    addresses = [value for value in (user.email, user.phone) if value]
    if addresses:
        await session.execute(
            delete(OutboundMessage).where(OutboundMessage.recipient.in_(addresses), OutboundMessage.sent_at.is_(None))
        )
        await session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.recipient.in_(addresses))
            .values(recipient="erased", body=None, subject=None)
        )
    for model in (VerificationCode, PasswordReset, NotificationPreference):
        await session.execute(delete(model).where(model.user_id == user.id))
    if user.email:
        await forget_address(session, user.email)
    await session.execute(update(Session).where(Session.user_id == user.id).values(user_agent=None, ip_address=None))
    user.email = user.phone = user.password_hash = user.google_subject = None
    user.email_verified_at = user.phone_verified_at = None
    user.display_name, user.roles, user.erased_at = ERASED_NAME, [Role.MEMBER.value], now
    await revoke_sessions(session, runtime.redis, user.id, "erased")
    await runtime.events.publish(session, "user.erased", {"user_id": user.id, "erased_at": now}, key=str(user.id))
    await session.commit()
