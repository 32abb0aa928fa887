"""SQL of the directory: the name search over shown profiles, their circles, and who facilitates.

Reads the profiles, memberships and circles tables (their models, never their repositories).
The search and its order use the partial indexes on lower(display_name) from migration 0005.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import ColumnElement, exists, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from mcm_circles.circles.models import Circle
from mcm_circles.memberships.models import CURRENT, Membership
from mcm_circles.profiles.models import Profile

NAME_KEY = func.lower(Profile.display_name)
# The same value spelled so that no btree's order matches it: a search then finds its matches
# through an index (trigram for 3+ characters, the text_pattern_ops prefix index for shorter
# texts) and sorts them, rather than walking the (name, id) index in order and filtering every
# row when the text is rare (247 ms over 90,000 profiles before this).
SORTED_MATCHES_KEY = NAME_KEY.concat("")
TRIGRAM = 3


def like_pattern(text: str, *, anywhere: bool = True) -> str:
    """A LIKE pattern matching `text` (anywhere, or at the start), its wildcards taken literally."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%" if anywhere else f"{escaped}%"


def _shown() -> ColumnElement[bool]:
    # Spelled as the indexes' predicate so PostgreSQL can use them.
    return Profile.directory_visible.is_(True) & Profile.erased_at.is_(None)


class DirectoryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def search(
        self, *, query: str | None, after: tuple[str, uuid.UUID] | None, limit: int
    ) -> list[tuple[uuid.UUID, str, str]]:
        """Up to `limit` (user_id, display_name, sort key) of shown profiles, by lower(name) then id.

        The sort key is PostgreSQL's lower(), not Python's: the cursor must compare as the index does.
        """
        key = SORTED_MATCHES_KEY if query else NAME_KEY
        stmt = select(Profile.user_id, Profile.display_name, key).where(_shown())
        if query:
            # One or two characters have no trigram: they match the start of the name.
            pattern = like_pattern(query, anywhere=len(query) >= TRIGRAM)
            stmt = stmt.where(NAME_KEY.like(pattern, escape="\\"))
        if after is not None:
            stmt = stmt.where(tuple_(key, Profile.user_id) > tuple_(*after))
        stmt = stmt.order_by(key, Profile.user_id).limit(limit)
        return [(user_id, name, key) for user_id, name, key in await self.session.execute(stmt)]

    async def active_circles(
        self, user_ids: Iterable[uuid.UUID], *, viewer_id: uuid.UUID, all_private: bool
    ) -> dict[uuid.UUID, list[tuple[uuid.UUID, str]]]:
        """Each user's circles (active memberships), by circle name. Private circles only when the
        viewer may see them: `all_private` (staff) or his own current membership there."""
        ids = set(user_ids)
        if not ids:
            return {}
        stmt = (
            select(Membership.user_id, Circle.id, Circle.name)
            .join(Circle, Circle.id == Membership.circle_id)
            .where(Membership.user_id.in_(ids), Membership.status == "active")
            .order_by(Circle.name, Circle.id)
        )
        if not all_private:
            viewer = aliased(Membership)
            viewer_in_circle = (
                exists()
                .where(viewer.circle_id == Circle.id, viewer.user_id == viewer_id, viewer.status.in_(CURRENT))
                .correlate(Circle)
            )
            stmt = stmt.where(or_(Circle.visibility == "public", viewer_in_circle))
        circles: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = defaultdict(list)
        for user_id, circle_id, name in await self.session.execute(stmt):
            circles[user_id].append((circle_id, name))
        return circles

    async def facilitates_any(self, user_id: uuid.UUID) -> bool:
        stmt = select(
            exists().where(
                Membership.user_id == user_id,
                Membership.role == "facilitator",
                Membership.status == "active",
            )
        )
        return bool(await self.session.scalar(stmt))
