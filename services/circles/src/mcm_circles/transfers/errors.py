"""Problems a client can meet with transfer requests."""

from __future__ import annotations

from typing import Any

from mcm_shared.errors import Conflict, InvalidInput, NotFound


class TransferNotFound(NotFound):
    type_slug, title = "transfer-request-not-found", "Transfer request not found"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail or "No such transfer request.", **kwargs)


class TransferNotPending(Conflict):
    type_slug, title = "transfer-request-decided", "Transfer request already decided"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail or "This transfer request is no longer pending.", **kwargs)


class TransferAlreadyPending(Conflict):
    type_slug, title = "transfer-request-pending", "A transfer request is already pending"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail or "You already have a pending transfer request from this circle.", **kwargs)


class MembershipNoLongerActive(Conflict):
    type_slug, title = "membership-not-active", "Membership no longer active"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail or "The membership this request moves has ended.", **kwargs)


class SameCircle(InvalidInput):
    type_slug, title = "same-circle", "Same circle"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault(
            "errors",
            [{"loc": ["body", "to_circle_id"], "msg": "must differ from the current circle", "type": "value_error"}],
        )
        super().__init__(detail or "A transfer needs a different circle.", **kwargs)
