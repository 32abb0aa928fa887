"""User administration rules. Each use case commits once.

Demotion (losing any role) and disabling revoke every session of the account at once, so the
lost rights cannot be used for the rest of an access token's life; a promotion needs no
revocation and shows in the next access token (at the next refresh).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_auth.accounts import service as accounts
from mcm_auth.accounts.errors import AccountNotFound
from mcm_auth.accounts.events import announce
from mcm_auth.accounts.models import User
from mcm_auth.admin.errors import LastAdmin, NotOnYourself
from mcm_auth.admin.repository import AdminRepository
from mcm_auth.admin.schemas import AuditRecord, UserSummary
from mcm_auth.roles.models import AuditEntry
from mcm_auth.roles.permissions import canonical_roles
from mcm_auth.runtime import AuthRuntime
from mcm_auth.sessions.revocation import revoke_sessions
from mcm_shared.pagination import Page, decode_cursor, encode_cursor
from mcm_shared.security import Role

_KEYS = {"created_at", "id"}
T = TypeVar("T")


def summary(user: User) -> UserSummary:
    return UserSummary(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        roles=user.roles,
        email_verified=user.email_verified_at is not None,
        phone_verified=user.phone_verified_at is not None,
        disabled=user.disabled_at is not None,
        created_at=user.created_at,
    )


def _after(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    values = decode_cursor(cursor, _KEYS)
    if values is None:
        return None
    try:
        return datetime.fromisoformat(values["created_at"]), uuid.UUID(values["id"])
    except (TypeError, ValueError):
        decode_cursor("!", _KEYS)  # raises the standard invalid-cursor problem
        raise


def _page(rows: list[Any], limit: int, convert: Callable[[Any], T]) -> Page[T]:
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = (
        encode_cursor({"created_at": rows[-1].created_at.isoformat(), "id": str(rows[-1].id)})
        if more and rows
        else None
    )
    return Page(items=[convert(row) for row in rows], next_cursor=cursor)


async def list_users(
    session: AsyncSession, *, email: str | None, role: Role | None, limit: int, cursor: str | None
) -> Page[UserSummary]:
    rows = await AdminRepository(session).search(
        email=email, role=role.value if role else None, after=_after(cursor), limit=limit
    )
    return _page(rows, limit, summary)


async def audit_of(
    session: AsyncSession, *, subject_id: uuid.UUID, limit: int, cursor: str | None
) -> Page[AuditRecord]:
    if await accounts.get_user(session, subject_id) is None:
        raise AccountNotFound("No such user.")
    rows = await AdminRepository(session).audit_for(subject_id, after=_after(cursor), limit=limit)
    return _page(rows, limit, lambda row: AuditRecord.model_validate(row, from_attributes=True))


async def lock_admins(session: AsyncSession) -> None:
    """Serialise every change that could leave no active admin (until commit)."""
    await AdminRepository(session).lock_admins()


async def ensure_not_last_admin(session: AsyncSession, user: User) -> None:
    """Refuse to remove the last active administrator (call after `lock_admins`)."""
    if Role.ADMIN.value in user.roles and await AdminRepository(session).count_active_admins() <= 1:
        raise LastAdmin("The last active administrator cannot delete the account.")


async def _target(session: AsyncSession, repo: AdminRepository, user_id: uuid.UUID) -> User:
    await repo.lock_admins()
    user = await accounts.get_user_for_update(session, user_id)
    if user is None or user.erased_at is not None:
        raise AccountNotFound("No such user.")
    return user


async def set_roles(
    session: AsyncSession,
    runtime: AuthRuntime,
    *,
    actor_id: uuid.UUID,
    user_id: uuid.UUID,
    roles: list[Role],
    reason: str,
) -> UserSummary:
    repo = AdminRepository(session)
    user = await _target(session, repo, user_id)
    before, after = list(user.roles), canonical_roles(role.value for role in roles)
    removed = set(before) - set(after)
    if Role.ADMIN.value in removed:
        if user.id == actor_id:
            raise NotOnYourself("Ask another administrator to remove your admin role.")
        if user.disabled_at is None and await repo.count_active_admins() <= 1:
            raise LastAdmin("The last active administrator cannot lose the role.")
    if before == after:
        return summary(user)
    user.roles = after
    repo.audit(
        AuditEntry(
            actor_id=actor_id,
            subject_id=user.id,
            action="roles_changed",
            details={"before": before, "after": after},
            reason=reason,
        )
    )
    if removed:
        await revoke_sessions(session, runtime.redis, user.id, "demoted")
    await _announce(session, runtime, user)
    await session.commit()
    return summary(user)


async def set_disabled(
    session: AsyncSession, runtime: AuthRuntime, *, actor_id: uuid.UUID, user_id: uuid.UUID, disabled: bool, reason: str
) -> UserSummary:
    repo = AdminRepository(session)
    user = await _target(session, repo, user_id)
    if user.id == actor_id:
        raise NotOnYourself("You cannot disable or enable your own account.")
    if (user.disabled_at is not None) == disabled:
        return summary(user)  # already so: nothing to do, nothing to audit
    if disabled and Role.ADMIN.value in user.roles and await repo.count_active_admins() <= 1:
        raise LastAdmin("The last active administrator cannot be disabled.")
    user.disabled_at = datetime.now(UTC) if disabled else None
    action = "disabled" if disabled else "enabled"
    repo.audit(AuditEntry(actor_id=actor_id, subject_id=user.id, action=action, details={}, reason=reason))
    if disabled:
        await revoke_sessions(session, runtime.redis, user.id, "disabled")
        if user.email:
            await runtime.outbound.queue_email(
                session, user.email, "account_disabled", {"display_name": user.display_name}
            )
    await _announce(session, runtime, user)
    await session.commit()
    return summary(user)


async def _announce(session: AsyncSession, runtime: AuthRuntime, user: User) -> None:
    await announce(session, runtime.events, "user.updated", user)
