"""Who may send which invitation.

- roles (organisation invitations): admins only;
- a circle: its facilitators and admins; an event's staff: ptms (and admins).

Admins hold authority over every circle and event, ptms over every event (circles' own rules:
events/access.py MANAGE_ALL), both roles auth knows. Facilitation of a circle is circles'
knowledge: auth asks circles (`GET /internal/v1/circles/{id}/invitation-authority/{user_id}`
over its service token), which also says whether the circle is open (exists, not archived);
for an event it asks whether the event exists and still takes staff
(`GET /internal/v1/events/{id}/invitation-authority`).
Circles does not answer: 503 naming it, nothing sent. Circles checks the circle or event again
when it applies the acceptance.
"""

from __future__ import annotations

import uuid

from mcm_auth.accounts.models import User
from mcm_auth.internal.client import InternalClient
from mcm_auth.invitations.errors import InvalidInvitation, NotAllowedToInvite
from mcm_shared.security import Role


async def _circle_authority(internal: InternalClient, circle_id: uuid.UUID, user_id: uuid.UUID) -> tuple[bool, bool]:
    answer = await internal.get("circles", f"/internal/v1/circles/{circle_id}/invitation-authority/{user_id}")
    return bool(answer.get("circle_open")), bool(answer.get("facilitator"))


async def _event_open(internal: InternalClient, event_id: uuid.UUID) -> bool:
    answer = await internal.get("circles", f"/internal/v1/events/{event_id}/invitation-authority")
    return bool(answer.get("event_open"))


async def ensure_may_invite(
    internal: InternalClient,
    inviter: User,
    *,
    circle_id: uuid.UUID | None,
    event_id: uuid.UUID | None,
    roles: list[str],
) -> None:
    if circle_id is not None and event_id is not None:
        raise InvalidInvitation("Invite into a circle or onto an event, not both.")
    if roles and (circle_id is not None or event_id is not None):
        raise InvalidInvitation("Roles come with an organisation invitation, not with a circle or an event.")
    is_admin = Role.ADMIN.value in inviter.roles
    if circle_id is not None:
        circle_open, facilitator = await _circle_authority(internal, circle_id, inviter.id)
        if is_admin and not circle_open:
            raise InvalidInvitation("There is no open circle with that id.")
        if not (is_admin or (circle_open and facilitator)):
            # The same answer for a circle that does not exist: nothing about it is revealed.
            raise NotAllowedToInvite("Only this circle's facilitators and admins may invite into it.")
        return
    if event_id is None:
        if not is_admin:
            raise NotAllowedToInvite("Only admins invite people into the organisation.")
        return
    if not (is_admin or Role.PTM.value in inviter.roles):
        raise NotAllowedToInvite("Only ptms and admins may invite onto an event's staff.")
    # ptms and admins manage every event and see every one: naming an unknown event reveals nothing.
    if not await _event_open(internal, event_id):
        raise InvalidInvitation("There is no event with that id that still takes staff.")
