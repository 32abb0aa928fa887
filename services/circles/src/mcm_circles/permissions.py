"""Who may see and do what in the circles service — the one place these rules live.

Roles come from the access token (additive). "Circle facilitator" is not a token role but an
active membership with role `facilitator` in that circle; the `facilitator` token role only
allows creating circles.

| ability                                   | member | circle facilitator | ptm | support | leadership | admin |
|-------------------------------------------|--------|--------------------|-----|---------|------------|-------|
| see a public circle, list public circles  | yes    | yes                | yes | yes     | yes        | yes   |
| see a private circle                      | own¹   | yes                | yes | yes     | yes        | yes   |
| create a circle                           | —      | token role `facilitator` | — | —   | —          | yes   |
| update / archive a circle                 | —      | yes                | —   | —       | —          | yes   |
| join, leave, transfer out, own goals      | yes    | yes                | yes | yes     | yes        | yes   |
| read the member list                      | own¹   | yes                | yes | yes     | yes        | yes   |
| add, approve, decline, remove members     | —      | yes                | —   | —       | —          | yes   |
| decide transfers into the circle          | —      | yes                | —   | —       | —          | yes   |
| move a member to another circle directly | —      | of both circles    | yes | yes     | —          | yes   |
| schedule/cancel meetings, record attendance| —     | yes                | —   | —       | —          | yes   |
| read attendance sheets + private notes    | —      | yes                | yes | yes     | yes        | yes   |
| read attendance / goal completion reports | —      | yes                | yes | yes     | yes        | yes   |
| read members flagged for overdue dues     | —      | yes                | —   | yes     | yes        | yes   |

¹ a current (active, or pending for visibility) membership of that circle.
Not visible → 404 (indistinguishable from "does not exist"); visible but not allowed → 403.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.actors import actor_id
from mcm_circles.circles import locking
from mcm_circles.circles.errors import CircleNotFound
from mcm_circles.circles.models import Circle
from mcm_circles.memberships.models import Membership
from mcm_shared.errors import Forbidden
from mcm_shared.security import Principal, Role

ADMIN = Role.ADMIN
CIRCLE_CREATOR_ROLES = frozenset({Role.FACILITATOR, Role.ADMIN})
STAFF_ROLES = frozenset({Role.PTM, Role.SUPPORT, Role.LEADERSHIP, Role.ADMIN})
FOLLOW_UP_ROLES = frozenset({Role.SUPPORT, Role.LEADERSHIP, Role.ADMIN})


def is_staff(principal: Principal) -> bool:
    return principal.has_role(*STAFF_ROLES)


def is_admin(principal: Principal) -> bool:
    return principal.has_role(ADMIN)


def can_follow_up_payments(principal: Principal) -> bool:
    return principal.has_role(*FOLLOW_UP_ROLES)


def ensure_can_create_circle(principal: Principal) -> uuid.UUID:
    user_id = actor_id(principal)
    if not principal.has_role(*CIRCLE_CREATOR_ROLES):
        raise Forbidden("Only facilitators and admins can create circles.")
    return user_id


@dataclass(frozen=True, slots=True)
class CircleAccess:
    """A circle as seen by one caller, with the caller's current membership in it (if any)."""

    principal: Principal
    circle: Circle
    membership: Membership | None

    @property
    def user_id(self) -> uuid.UUID:
        return actor_id(self.principal)

    @property
    def is_member(self) -> bool:
        return self.membership is not None and self.membership.status == "active"

    @property
    def is_facilitator(self) -> bool:
        return self.is_member and self.membership is not None and self.membership.role == "facilitator"

    @property
    def can_see(self) -> bool:
        return self.circle.visibility == "public" or self.membership is not None or is_staff(self.principal)

    @property
    def can_manage(self) -> bool:
        return self.is_facilitator or is_admin(self.principal)

    @property
    def can_read_members(self) -> bool:
        return self.is_member or is_staff(self.principal)

    @property
    def can_read_private(self) -> bool:
        """Attendance sheets with private notes, attendance and goal completion reports."""
        return self.is_facilitator or is_staff(self.principal)

    @property
    def can_read_flagged(self) -> bool:
        return self.is_facilitator or can_follow_up_payments(self.principal)

    def ensure_visible(self) -> CircleAccess:
        if not self.can_see:
            raise CircleNotFound()
        return self

    def ensure(self, allowed: bool, detail: str) -> CircleAccess:
        """Visibility first (404), then the function (403)."""
        self.ensure_visible()
        if not allowed:
            raise Forbidden(detail)
        return self

    def ensure_manage(self) -> CircleAccess:
        return self.ensure(self.can_manage, "Only this circle's facilitators and admins can do this.")


async def load_access(
    session: AsyncSession, principal: Principal, circle_id: uuid.UUID, *, lock: bool = False
) -> CircleAccess:
    """The circle as this caller sees it; `lock` takes the circle's row lock for a change.

    Raises 404 for a circle that does not exist; callers then apply `ensure_*`.
    """
    row = await locking.get_with_membership(session, circle_id, principal.user_id, lock=lock)
    if row is None:
        raise CircleNotFound()
    return CircleAccess(principal, row[0], row[1])
