"""Annotated aliases for path and query parameters shared by the routers."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Path, Query

from mcm_shared.pagination import DEFAULT_LIMIT, MAX_LIMIT

CircleID = Annotated[uuid.UUID, Path(description="Circle id")]
UserID = Annotated[uuid.UUID, Path(description="User id of the member")]
MeetingID = Annotated[uuid.UUID, Path(description="Meeting id")]
GoalID = Annotated[uuid.UUID, Path(description="Goal id")]
TransferID = Annotated[uuid.UUID, Path(description="Transfer request id")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=512)]
DEFAULT_PAGE = DEFAULT_LIMIT
