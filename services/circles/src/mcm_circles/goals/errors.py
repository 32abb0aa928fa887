"""Problems a client can meet with goals."""

from __future__ import annotations

from mcm_shared.errors import NotFound


class GoalNotFound(NotFound):
    type_slug, title = "goal-not-found", "Goal not found"

    def __init__(self, detail: str | None = None, **kwargs) -> None:
        super().__init__(detail or "No such goal of yours in this circle.", **kwargs)
