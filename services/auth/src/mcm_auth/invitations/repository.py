"""SQL for invitations."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_auth.invitations.models import Invitation

# Not an address anyone can have (the .invalid top-level domain is reserved, RFC 2606).
ERASED_ADDRESS = "erased@erased.invalid"


class InvitationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, invitation: Invitation) -> Invitation:
        self.session.add(invitation)
        await self.session.flush()
        return invitation

    async def get_for_update(self, invitation_id: uuid.UUID) -> Invitation | None:
        return await self.session.scalar(
            select(Invitation)
            .where(Invitation.id == invitation_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    async def open_by_token(self, token_hash: str, now: datetime) -> Invitation | None:
        """The usable invitation behind a token, locked: of two concurrent acceptances one waits
        and then finds it accepted."""
        return await self.session.scalar(
            select(Invitation)
            .where(
                Invitation.token_hash == token_hash,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > now,
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    async def circle_invitations_of(self, emails: list[str], now: datetime) -> dict[tuple[str, uuid.UUID], str]:
        """For a bulk import: (email, circle) -> "accepted" or "open" for the addresses' circle
        invitations that were accepted or can still be accepted (expired and revoked ones: none)."""
        if not emails:
            return {}
        rows = await self.session.execute(
            select(Invitation.email, Invitation.circle_id, Invitation.accepted_at).where(
                Invitation.email.in_(emails),
                Invitation.circle_id.is_not(None),
                (Invitation.accepted_at.is_not(None))
                | (Invitation.revoked_at.is_(None) & (Invitation.expires_at > now)),
            )
        )
        states: dict[tuple[str, uuid.UUID], str] = {}
        for email, circle_id, accepted_at in rows:
            if circle_id is None:
                continue
            if states.get((email, circle_id)) != "accepted":
                states[(email, circle_id)] = "accepted" if accepted_at is not None else "open"
        return states

    async def page(
        self, *, invited_by: uuid.UUID | None, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[Invitation]:
        """Newest first; only `invited_by`'s when given (None: everyone's, for admins)."""
        stmt = select(Invitation)
        if invited_by is not None:
            stmt = stmt.where(Invitation.invited_by == invited_by)
        if after is not None:
            stmt = stmt.where(tuple_(Invitation.created_at, Invitation.id) < tuple_(*after))
        stmt = stmt.order_by(Invitation.created_at.desc(), Invitation.id.desc()).limit(limit)
        return list((await self.session.scalars(stmt)).all())

    async def expire_token(self, invitation_id: uuid.UUID, token_hash: str, expires_at: datetime) -> None:
        await self.session.execute(
            update(Invitation)
            .where(Invitation.id == invitation_id)
            .values(token_hash=token_hash, expires_at=expires_at)
        )

    async def forget_address(self, email: str) -> None:
        """Erasure: open invitations to the address go; accepted ones keep who and when, not the address."""
        await self.session.execute(
            delete(Invitation).where(Invitation.email == email, Invitation.accepted_at.is_(None))
        )
        await self.session.execute(update(Invitation).where(Invitation.email == email).values(email=ERASED_ADDRESS))
