"""The registration path's view of a locked event row: plain columns, no ORM object.

Apart from the repository that reads it, so that the permission rules (`access`) and the seat
arithmetic (`registrations.seats`) can take either it or the ORM `Event`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID


@dataclass(frozen=True, slots=True)
class LockedEvent:
    """The columns of a locked event row that registering needs, plus its attached circles and
    requirements (`kind, params` in order). Quacks like `Event` for permissions and `seats`."""

    id: UUID
    title: str
    status: str
    visibility: str
    starts_at: datetime
    registration_opens_at: datetime | None
    registration_closes_at: datetime | None
    capacity: int
    seats_taken: int
    confirmed_count: int
    waitlist_count: int
    price_amount: int
    price_currency: str
    instalments: int | None
    requires_approval: bool
    circle_ids: list[UUID]
    requirements: list[tuple[str, dict[str, Any]]]

    @property
    def is_free(self) -> bool:
        return self.price_amount == 0
