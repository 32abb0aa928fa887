"""Pydantic schemas for goals."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import model_validator

from mcm_circles.schemas_common import PRINTABLE, Input, Output, bounded

Title = Annotated[str, bounded(200, 1), PRINTABLE]
MAX_PERIOD_DAYS = 366


def check_period(start: date | None, end: date | None) -> None:
    if start is not None and end is not None:
        if end < start:
            raise ValueError("period_end must not be before period_start")
        if (end - start).days > MAX_PERIOD_DAYS:
            raise ValueError("a goal period is at most a year")


class GoalCreate(Input):
    title: Title
    period_start: date
    period_end: date

    @model_validator(mode="after")
    def _period(self) -> GoalCreate:
        check_period(self.period_start, self.period_end)
        return self


class GoalUpdate(Input):
    title: Title | None = None
    period_start: date | None = None
    period_end: date | None = None
    done: bool | None = None

    @model_validator(mode="after")
    def _period(self) -> GoalUpdate:
        for name in ("title", "period_start", "period_end", "done"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        check_period(self.period_start, self.period_end)
        return self


class Goal(Output):
    id: uuid.UUID
    circle_id: uuid.UUID
    title: str
    period_start: date
    period_end: date
    done: bool
    done_at: datetime | None
    created_at: datetime


class MemberGoals(Output):
    user_id: uuid.UUID
    display_name: str
    total: int
    done: int
    rate: float | None


class GoalSummary(Output):
    """Completion rates only: the goals themselves are the member's own business."""

    circle_id: uuid.UUID
    period_start: date | None
    period_end: date | None
    total: int
    done: int
    rate: float | None
    members: list[MemberGoals]
