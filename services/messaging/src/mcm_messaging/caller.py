"""Who is asking: a signed-in user (never a service) and the roles his access token carries.

Roles come from the token auth signed, so they are the platform's word, not the client's; other
people's roles, memberships and registrations come from the read model (`audience`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from mcm_shared.security import Role

STAFF_ROLES = frozenset({Role.PTM, Role.SUPPORT, Role.LEADERSHIP, Role.ADMIN})
# Announcements to everyone or to a role.
BROADCAST_ROLES = frozenset({Role.LEADERSHIP, Role.ADMIN})
# Announcements to an event's registrants (and the event thread without registering).
EVENT_ROLES = frozenset({Role.PTM, Role.LEADERSHIP, Role.ADMIN})


@dataclass(frozen=True, slots=True)
class Caller:
    user_id: uuid.UUID
    roles: frozenset[str]

    def has_any(self, roles: frozenset[Role]) -> bool:
        return not self.roles.isdisjoint(roles)

    @property
    def is_staff(self) -> bool:
        return self.has_any(STAFF_ROLES)
