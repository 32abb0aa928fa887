"""Problems a client can meet with meetings and attendance."""

from __future__ import annotations

from typing import Any

from mcm_shared.errors import Conflict, InvalidInput, NotFound


class MeetingNotFound(NotFound):
    type_slug, title = "meeting-not-found", "Meeting not found"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail or "No such meeting in this circle.", **kwargs)


class MeetingCancelled(Conflict):
    type_slug, title = "meeting-cancelled", "Meeting cancelled"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail or "The meeting is cancelled.", **kwargs)


class MeetingClash(Conflict):
    type_slug, title = "meeting-clash", "Meeting clash"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail or "The circle already has a meeting at that time.", **kwargs)


class MeetingNotStarted(Conflict):
    type_slug, title = "meeting-not-started", "Meeting not started"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail or "Attendance can be recorded once the meeting has started.", **kwargs)


class AttendanceRecorded(Conflict):
    type_slug, title = "attendance-recorded", "Attendance already recorded"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(
            detail or "The meeting has attendance recorded; it took place and cannot be cancelled.", **kwargs
        )


class NotInCircle(InvalidInput):
    type_slug, title = "not-a-member", "Not a member of the circle"
