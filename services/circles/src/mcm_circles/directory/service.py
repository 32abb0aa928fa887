"""Directory rules: who may search (facilitators of any circle or by token role, ptm, support,
leadership, admin; members get 403), what they see (public fields; private circles only where
the viewer may see them), and who is left out (hidden or erased members, always)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.actors import actor_id
from mcm_circles.directory.repository import DirectoryRepository
from mcm_circles.directory.schemas import DirectoryCircle, DirectoryEntry
from mcm_circles.permissions import is_staff
from mcm_shared.errors import Forbidden
from mcm_shared.pagination import Page, next_page, parse_str, read_cursor
from mcm_shared.security import Principal, Role

SORT = "directory"


async def _ensure_may_search(repo: DirectoryRepository, principal: Principal) -> uuid.UUID:
    user_id = actor_id(principal)
    if principal.has_role(Role.FACILITATOR) or is_staff(principal) or await repo.facilitates_any(user_id):
        return user_id
    raise Forbidden("Only facilitators, ptms and staff can search the directory.")


async def search(
    session: AsyncSession, principal: Principal, *, query: str | None, limit: int, cursor: str | None
) -> Page[DirectoryEntry]:
    repo = DirectoryRepository(session)
    viewer_id = await _ensure_may_search(repo, principal)
    after = read_cursor(cursor, SORT, parse_str)
    rows = await repo.search(query=query, after=after, limit=limit + 1)
    people, next_cursor = next_page(rows, limit, SORT, lambda row: (row[2], row[0]))
    circles = await repo.active_circles(
        (row[0] for row in people), viewer_id=viewer_id, all_private=is_staff(principal)
    )
    items = [
        DirectoryEntry(
            user_id=user_id,
            display_name=name,
            circles=[DirectoryCircle(id=circle_id, name=circle_name) for circle_id, circle_name in circles[user_id]],
        )
        for user_id, name, _ in people
    ]
    return Page(items=items, next_cursor=next_cursor)
