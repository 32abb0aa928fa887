"""Problems a client can meet with circles."""

from __future__ import annotations

from typing import Any

from mcm_shared.errors import Conflict, InvalidInput, NotFound


class CircleNotFound(NotFound):
    type_slug, title = "circle-not-found", "Circle not found"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail or "No such circle.", **kwargs)


class CircleArchived(Conflict):
    type_slug, title = "circle-archived", "Circle archived"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail or "The circle is archived.", **kwargs)


class CapacityBelowMembers(Conflict):
    type_slug, title = "capacity-below-members", "Capacity below current members"


class InvalidCapacity(InvalidInput):
    type_slug, title = "invalid-capacity", "Invalid capacity"
