"""Errors of the events context, each carrying its HTTP status and problem type."""

from __future__ import annotations

from typing import Any

from mcm_shared.errors import Conflict, Forbidden, InvalidInput, NotFound


class EventNotFound(NotFound):
    type_slug, title = "event-not-found", "Event not found"

    def __init__(self) -> None:
        super().__init__("No such event.")


class RegistrationNotFound(NotFound):
    type_slug, title = "registration-not-found", "Registration not found"

    def __init__(self) -> None:
        super().__init__("No such registration.")


class TemplateNotFound(NotFound):
    type_slug, title = "requirement-template-not-found", "Requirement template not found"

    def __init__(self) -> None:
        super().__init__("No such requirement template.")


class EventTypeNotFound(NotFound):
    type_slug, title = "event-type-not-found", "Event type not found"

    def __init__(self) -> None:
        super().__init__("No such event type.")


class NotAdmin(Forbidden):
    type_slug, title = "not-admin", "Only admins may do this"


class DuplicateEventType(Conflict):
    type_slug, title = "duplicate-event-type", "An event type with that key exists"


class EventTypeInUse(Conflict):
    type_slug, title = "event-type-in-use", "Events use this type"


class StaffMemberNotFound(NotFound):
    type_slug, title = "staff-member-not-found", "Not on the event's staff in that role"


class NotEventManager(Forbidden):
    type_slug, title = "not-event-manager", "Not allowed to manage this event"


class NotEventStaff(Forbidden):
    type_slug, title = "not-event-staff", "Only the event's staff may do this"


class InvalidEventState(Conflict):
    type_slug, title = "invalid-event-state", "Not possible in the event's current state"


class RegistrationClosed(Conflict):
    type_slug, title = "registration-closed", "Registration is not open"


class AlreadyRegistered(Conflict):
    type_slug, title = "already-registered", "Already registered"

    def __init__(self, registration_id: Any = None) -> None:
        super().__init__(
            "You already have an active registration for this event.",
            extra={"registration_id": str(registration_id)} if registration_id else None,
        )


class InvalidRegistrationState(Conflict):
    type_slug, title = "invalid-registration-state", "Not possible in the registration's current state"


class EventFull(Conflict):
    type_slug, title = "event-full", "No free seat"


class CapacityBelowSeatsTaken(Conflict):
    type_slug, title = "capacity-below-seats-taken", "Capacity is below the seats already taken"


class DuplicateStaff(Conflict):
    type_slug, title = "duplicate-staff", "Already on the staff in that role"


class DuplicateTemplateName(Conflict):
    type_slug, title = "duplicate-template-name", "A template with that name exists"


class RequirementsNotMet(InvalidInput):
    type_slug, title = "requirements-not-met", "Registration requirements not met"

    def __init__(self, failures: list[dict[str, Any]]) -> None:
        super().__init__("You do not meet every requirement of this event.", errors=failures)


def field_error(loc: list[str], msg: str, kind: str = "value_error") -> InvalidInput:
    """A 422 about one input field, shaped like FastAPI's own validation errors."""
    return InvalidInput("The request has invalid fields.", errors=[{"loc": loc, "msg": msg, "type": kind}])
