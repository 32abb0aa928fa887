"""Problems a client can meet with memberships."""

from __future__ import annotations

from typing import Any

from mcm_shared.errors import Conflict, InvalidInput, NotFound


class CircleFull(Conflict):
    type_slug, title = "circle-full", "Circle full"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail or "The circle has no open seat.", **kwargs)


class AlreadyMember(Conflict):
    type_slug, title = "already-member", "Already a member"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(
            detail or "There is already a current membership (active or pending) for this person.", **kwargs
        )


class MembershipNotFound(NotFound):
    type_slug, title = "membership-not-found", "Membership not found"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail or "No such membership in this circle.", **kwargs)


class UserNotFound(NotFound):
    type_slug, title = "user-not-found", "User not found"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail or "No member with this id.", **kwargs)


class NotPending(Conflict):
    type_slug, title = "membership-not-pending", "Membership not pending"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail or "Only a pending request can be approved or declined.", **kwargs)


class LastFacilitator(Conflict):
    type_slug, title = "last-facilitator", "Last facilitator"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail or "A circle needs a facilitator: appoint another one first.", **kwargs)


class ReasonRequired(InvalidInput):
    type_slug, title = "reason-required", "Reason required"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("errors", [{"loc": ["body", "reason"], "msg": "a reason is required", "type": "missing"}])
        super().__init__(detail or "Removing someone needs a reason.", **kwargs)
