"""Who may see and do what with an event.

- ptm and admin manage every event; a circle facilitator (an active `facilitator` membership,
  as in `mcm_circles.permissions`) manages the events attached to a circle he facilitates and
  creates events for those circles; nobody else creates or manages events.
- Seeing: managers, the event's staff, leadership and support see every event (drafts too).
  Anyone else sees a published, cancelled or completed event when it is public, when he is an
  active member of an attached circle (visibility `circles`), when he was invited (`invited`),
  or when he has registered for it.
- An event a person may not see is a 404 everywhere; a function his roles lack is a 403.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from uuid import UUID

from mcm_circles.events.enums import EventStatus, Visibility
from mcm_circles.events.errors import EventNotFound, NotEventManager, NotEventStaff
from mcm_circles.events.locked import LockedEvent
from mcm_circles.events.models import Event
from mcm_shared.security import Principal, Role

# The ORM event, or the registration path's locked columns: both carry what the rules read.
E = TypeVar("E", Event, LockedEvent)

MANAGE_ALL = (Role.PTM, Role.ADMIN)
SEE_ALL = (Role.PTM, Role.ADMIN, Role.LEADERSHIP, Role.SUPPORT)


@dataclass(frozen=True)
class Viewer:
    """The facts about the caller that event permissions depend on (one lookup per request)."""

    principal: Principal
    user_id: UUID
    member_circles: frozenset[UUID] = field(default_factory=frozenset)
    facilitated_circles: frozenset[UUID] = field(default_factory=frozenset)

    @property
    def manages_all(self) -> bool:
        return self.principal.has_role(*MANAGE_ALL)

    @property
    def sees_all(self) -> bool:
        return self.principal.has_role(*SEE_ALL)

    @property
    def manageable_circles(self) -> frozenset[UUID]:
        """Circles whose events this person manages: the ones he facilitates."""
        return self.facilitated_circles

    def manages(self, event: Event | LockedEvent) -> bool:
        return self.manages_all or not self.manageable_circles.isdisjoint(event.circle_ids)


@dataclass(frozen=True)
class EventAccess(Generic[E]):
    """A viewer's standing towards one event (an `Event`, or the registration path's `LockedEvent`)."""

    viewer: Viewer
    event: E
    staff_roles: frozenset[str]
    invited: bool
    registered: bool

    @property
    def can_manage(self) -> bool:
        return self.viewer.manages(self.event)

    @property
    def is_staff(self) -> bool:
        return self.can_manage or bool(self.staff_roles)

    @property
    def can_see(self) -> bool:
        if self.is_staff or self.viewer.sees_all:
            return True
        if self.event.status == EventStatus.DRAFT:
            return False
        if self.registered or self.event.visibility == Visibility.PUBLIC:
            return True
        if self.event.visibility == Visibility.CIRCLES:
            return not self.viewer.member_circles.isdisjoint(self.event.circle_ids)
        return self.invited


def check_can_create(viewer: Viewer, circle_ids: list[UUID]) -> None:
    if viewer.manages_all:
        return
    if not viewer.manageable_circles:
        raise NotEventManager("Only ptm, admin and circle facilitators create events.")
    if not circle_ids or not set(circle_ids) <= viewer.manageable_circles:
        raise NotEventManager("Facilitators create events only for circles they facilitate.")


def ensure_visible(access: EventAccess[Any]) -> None:
    if not access.can_see:
        raise EventNotFound()


def ensure_manager(access: EventAccess[Any]) -> None:
    ensure_visible(access)
    if not access.can_manage:
        raise NotEventManager("Only the event's managers may do this.")


def ensure_staff(access: EventAccess[Any]) -> None:
    ensure_visible(access)
    if not access.is_staff:
        raise NotEventStaff("Only the event's staff may do this.")
