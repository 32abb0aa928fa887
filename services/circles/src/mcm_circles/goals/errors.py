"""Problems a client can meet with goals."""

from __future__ import annotations

from typing import Any

from mcm_shared.errors import NotFound


class GoalNotFound(NotFound):
    type_slug, title = "goal-not-found", "Goal not found"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail or "No such goal of yours in this circle.", **kwargs)
