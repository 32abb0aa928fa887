"""Who may send which invitation.

- roles (organisation invitations): admins only;
- a circle: its facilitators and admins; an event's staff: ptms (and admins).

Admins hold authority over every circle and event, ptms over every event (circles' own rules:
events/access.py MANAGE_ALL), both token roles auth knows. Facilitation of a circle is circles'
knowledge: auth must ask circles over an internal call. Until that call exists on this branch
(people.md, "Internal calls:"), a facilitator's circle invitation is refused (403): refusing is
the safe default. Circles checks the circle or event again when it applies the acceptance.
"""

from __future__ import annotations

import uuid

from mcm_auth.accounts.models import User
from mcm_auth.invitations.errors import InvalidInvitation, NotAllowedToInvite
from mcm_shared.security import Role


def ensure_may_invite(
    inviter: User, *, circle_id: uuid.UUID | None, event_id: uuid.UUID | None, roles: list[str]
) -> None:
    if circle_id is not None and event_id is not None:
        raise InvalidInvitation("Invite into a circle or onto an event, not both.")
    if roles and (circle_id is not None or event_id is not None):
        raise InvalidInvitation("Roles come with an organisation invitation, not with a circle or an event.")
    if Role.ADMIN.value in inviter.roles:
        return
    if roles or (circle_id is None and event_id is None):
        raise NotAllowedToInvite("Only admins invite people into the organisation.")
    if event_id is not None:
        if Role.PTM.value in inviter.roles:
            return
        raise NotAllowedToInvite("Only ptms and admins may invite onto an event's staff.")
    raise NotAllowedToInvite("Only this circle's facilitators and admins may invite into it.")
