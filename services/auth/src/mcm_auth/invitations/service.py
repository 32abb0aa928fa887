"""Invitation use cases: send, list, revoke, resend, accept. Each use case commits once.

- The answer to sending is the same whether or not the address has an account (201 {id,
  expires_at}); only the email differs ("sign in to accept" or "create your account").
- The token is random, stored as a SHA-256 hash, single use, and expires (INVITATION_TTL_SECONDS,
  7 days by default); a resend replaces it, so the previous link dies.
- Any signed-in account may accept a circle or event invitation: holding the token proves the
  email was received, and who accepted is recorded. An invitation that grants organisation roles
  is accepted only by the account whose verified email is the invited address, so a forwarded
  link cannot hand out staff roles.
- Who may send what: invitations/authority.py (circles is asked about circle facilitation).
- Roles are applied here (audited, `user.updated` announced); circle and event effects are
  published as `invitation.accepted` for circles to apply.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_auth.accounts import service as accounts
from mcm_auth.accounts.events import announce
from mcm_auth.accounts.models import User
from mcm_auth.invitations.authority import ensure_may_invite
from mcm_auth.invitations.errors import (
    InvalidInvitationToken,
    InvitationClosed,
    InvitationForSomeoneElse,
    InvitationNotFound,
)
from mcm_auth.invitations.models import Invitation
from mcm_auth.invitations.repository import InvitationRepository
from mcm_auth.invitations.schemas import InvitationAccepted, InvitationCreate, InvitationCreated, InvitationOut
from mcm_auth.ratelimit import hit
from mcm_auth.roles.models import AuditEntry
from mcm_auth.roles.permissions import canonical_roles
from mcm_auth.runtime import AuthRuntime
from mcm_auth.security.secrets import new_token, token_hash
from mcm_shared.pagination import Page, next_page, parse_datetime, read_cursor
from mcm_shared.security import Role

SORT = "invitations"
ACCEPTED_EVENT = "invitation.accepted"


def _is_admin(user: User) -> bool:
    return Role.ADMIN.value in user.roles


def out(invitation: Invitation, now: datetime) -> InvitationOut:
    return InvitationOut(
        id=invitation.id,
        email=invitation.email,
        circle_id=invitation.circle_id,
        event_id=invitation.event_id,
        roles=list(invitation.roles),
        status=invitation.status(now),
        invited_by=invitation.invited_by,
        expires_at=invitation.expires_at,
        created_at=invitation.created_at,
        accepted_at=invitation.accepted_at,
        accepted_by=invitation.accepted_by,
    )


async def _count_send(runtime: AuthRuntime, inviter: User) -> None:
    await hit(
        runtime.redis,
        f"auth:invite:user:{inviter.id}",
        limit=runtime.settings.invitations_per_hour,
        window_seconds=3600,
        detail="Too many invitations sent; try again later.",
    )


async def _send_email(
    session: AsyncSession, runtime: AuthRuntime, invitation: Invitation, token: str, inviter: User
) -> None:
    """Queue the invitation email in the caller's transaction. The template depends on whether
    the address has an account; the HTTP answer never does."""
    existing = await accounts.user_by_email(session, invitation.email)
    link = f"{runtime.settings.public_app_url.rstrip('/')}/invitations/accept?token={quote(token)}"
    days = max(1, round((invitation.expires_at - datetime.now(UTC)).total_seconds() / 86400))
    template = "invitation_existing_account" if existing is not None else "invitation_new_account"
    await runtime.outbound.queue_email(
        session, invitation.email, template, {"inviter": inviter.display_name, "link": link, "days": days}
    )


async def create(
    session: AsyncSession, runtime: AuthRuntime, inviter: User, body: InvitationCreate
) -> InvitationCreated:
    roles = canonical_roles(role.value for role in body.roles) if body.roles else []
    if roles == [Role.MEMBER.value]:
        roles = []  # everybody is a member: an organisation invitation without staff roles
    # Counted first: refused attempts count too, so nobody can probe circles through this freely.
    await _count_send(runtime, inviter)
    await ensure_may_invite(runtime.internal, inviter, circle_id=body.circle_id, event_id=body.event_id, roles=roles)
    token = new_token()
    invitation = await InvitationRepository(session).add(
        Invitation(
            id=uuid.uuid4(),
            email=body.email,
            token_hash=token_hash(token),
            expires_at=datetime.now(UTC) + timedelta(seconds=runtime.settings.invitation_ttl_seconds),
            circle_id=body.circle_id,
            event_id=body.event_id,
            roles=roles,
            invited_by=inviter.id,
        )
    )
    await _send_email(session, runtime, invitation, token, inviter)
    await session.commit()
    return InvitationCreated(id=invitation.id, expires_at=invitation.expires_at)


async def circle_invitations_of(session: AsyncSession, emails: list[str]) -> dict[tuple[str, uuid.UUID], str]:
    """(email, circle) -> "accepted" | "open" (see the repository); for bulk imports."""
    return await InvitationRepository(session).circle_invitations_of(emails, datetime.now(UTC))


async def invite_imported(
    session: AsyncSession, runtime: AuthRuntime, inviter: User, *, email: str, circle_id: uuid.UUID, circle_role: str
) -> None:
    """A bulk import's circle invitation, in the caller's transaction (the import commits once).
    The import already checked that the inviter is an admin and the circle exists, and it is not
    counted against the per-inviter hourly limit (a file of 5,000 members is one admin action)."""
    token = new_token()
    invitation = await InvitationRepository(session).add(
        Invitation(
            id=uuid.uuid4(),
            email=email,
            token_hash=token_hash(token),
            expires_at=datetime.now(UTC) + timedelta(seconds=runtime.settings.invitation_ttl_seconds),
            circle_id=circle_id,
            circle_role=None if circle_role == "member" else circle_role,
            roles=[],
            invited_by=inviter.id,
        )
    )
    await _send_email(session, runtime, invitation, token, inviter)


async def list_sent(session: AsyncSession, viewer: User, *, limit: int, cursor: str | None) -> Page[InvitationOut]:
    """The viewer's invitations, newest first; admins see everyone's."""
    after = read_cursor(cursor, SORT, parse_datetime)
    rows = await InvitationRepository(session).page(
        invited_by=None if _is_admin(viewer) else viewer.id, after=after, limit=limit + 1
    )
    items, next_cursor = next_page(rows, limit, SORT, lambda row: (row.created_at, row.id))
    now = datetime.now(UTC)
    return Page(items=[out(item, now) for item in items], next_cursor=next_cursor)


async def _own(session: AsyncSession, viewer: User, invitation_id: uuid.UUID) -> Invitation:
    """The invitation, locked, if the viewer sent it or is an admin; 404 otherwise (another's
    invitation is not his business, not even its existence)."""
    invitation = await InvitationRepository(session).get_for_update(invitation_id)
    if invitation is None or (invitation.invited_by != viewer.id and not _is_admin(viewer)):
        raise InvitationNotFound()
    return invitation


async def revoke(session: AsyncSession, viewer: User, invitation_id: uuid.UUID) -> None:
    invitation = await _own(session, viewer, invitation_id)
    if invitation.accepted_at is not None:
        raise InvitationClosed("The invitation was already accepted.")
    if invitation.revoked_at is None:
        invitation.revoked_at = datetime.now(UTC)
    await session.commit()


async def resend(
    session: AsyncSession, runtime: AuthRuntime, viewer: User, invitation_id: uuid.UUID
) -> InvitationCreated:
    """A new token and a new expiry, emailed again; the previous link no longer works."""
    invitation = await _own(session, viewer, invitation_id)
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise InvitationClosed()
    await _count_send(runtime, viewer)
    token = new_token()
    invitation.token_hash = token_hash(token)
    invitation.expires_at = datetime.now(UTC) + timedelta(seconds=runtime.settings.invitation_ttl_seconds)
    await session.flush()
    await _send_email(session, runtime, invitation, token, viewer)
    await session.commit()
    return InvitationCreated(id=invitation.id, expires_at=invitation.expires_at)


async def accept(session: AsyncSession, runtime: AuthRuntime, user_id: uuid.UUID, token: str) -> InvitationAccepted:
    now = datetime.now(UTC)
    invitation = await InvitationRepository(session).open_by_token(token_hash(token), now)
    if invitation is None:
        await session.rollback()
        raise InvalidInvitationToken()
    user = await accounts.get_user_for_update(session, user_id)
    if user is None or not user.active:
        await session.rollback()
        raise InvalidInvitationToken()
    if invitation.roles and (user.email != invitation.email or user.email_verified_at is None):
        await session.rollback()
        raise InvitationForSomeoneElse(
            "Sign in with the invited address, verified, to accept an invitation that grants roles."
        )
    invitation.accepted_at = now
    invitation.accepted_by = user.id
    granted = [role for role in invitation.roles if role not in user.roles]
    if granted:
        before = list(user.roles)
        user.roles = canonical_roles([*before, *granted])
        session.add(
            AuditEntry(
                actor_id=invitation.invited_by,
                subject_id=user.id,
                action="roles_changed",
                details={"before": before, "after": list(user.roles), "invitation_id": str(invitation.id)},
                reason=f"Accepted invitation {invitation.id}",
            )
        )
        await announce(session, runtime.events, "user.updated", user)
    if invitation.circle_id is not None or invitation.event_id is not None:
        await runtime.events.publish(
            session,
            ACCEPTED_EVENT,
            {
                "invitation_id": invitation.id,
                "user_id": user.id,
                "circle_id": invitation.circle_id,
                "event_id": invitation.event_id,
                "invited_by": invitation.invited_by,
                # "facilitator" (a bulk import's) or None: circles admits him as a member.
                "circle_role": invitation.circle_role,
            },
            key=str(user.id),
        )
    await session.commit()
    return InvitationAccepted(
        invitation_id=invitation.id,
        circle_id=invitation.circle_id,
        event_id=invitation.event_id,
        roles_granted=granted,
    )


async def forget_address(session: AsyncSession, email: str) -> None:
    """Part of an account's erasure (in the caller's transaction): no invitation keeps his address."""
    await InvitationRepository(session).forget_address(email)
