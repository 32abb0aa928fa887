"""Event bus wiring: what messaging consumes and from where.

Consumes `events:auth` (who holds which roles) and `events:circles` (memberships, registrations)
as consumer group `messaging`, applying each message exactly once through the inbox. A new group
starts at the beginning of each stream (mcm_shared.events.groups.create_group), so the first
start replays the history the streams still hold: that is the backfill (docs/messaging.md says
what it cannot see). Messaging publishes nothing yet.
"""

from __future__ import annotations

from mcm_messaging.audience import service as audience
from mcm_shared.events import Handler

CONSUMED: dict[str, Handler] = {
    # events:auth
    "user.registered": audience.on_user_changed,
    "user.updated": audience.on_user_changed,
    "user.erased": audience.on_user_erased,
    # events:circles
    "membership.started": audience.on_membership_started,
    "membership.ended": audience.on_membership_ended,
    "registration.confirmed": audience.on_registration_confirmed,
    "registration.cancelled": audience.on_registration_ended,
    "registration.expired": audience.on_registration_ended,
}


def handlers() -> dict[str, Handler]:
    return dict(CONSUMED)
