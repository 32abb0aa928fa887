"""FastAPI dependencies of the service: the runtime (built by the lifespan, only read here) and
the aliases routes declare: runtime parts, path and query parameters."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Path, Query, Request

from mcm_circles.clock import Clock
from mcm_circles.config import EventsSettings
from mcm_circles.gate import EventGates
from mcm_circles.listing_cache import ListingCache
from mcm_circles.runtime import CirclesRuntime
from mcm_shared.pagination import DEFAULT_LIMIT, MAX_LIMIT

CircleID = Annotated[uuid.UUID, Path(description="Circle id")]
UserID = Annotated[uuid.UUID, Path(description="User id of the member")]
MeetingID = Annotated[uuid.UUID, Path(description="Meeting id")]
GoalID = Annotated[uuid.UUID, Path(description="Goal id")]
TransferID = Annotated[uuid.UUID, Path(description="Transfer request id")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=512)]
DEFAULT_PAGE = DEFAULT_LIMIT


# Every dependency is async: FastAPI runs a plain `def` dependency in its thread pool, a hop on every request.
async def get_runtime(request: Request) -> CirclesRuntime:
    runtime: CirclesRuntime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[CirclesRuntime, Depends(get_runtime)]


async def get_clock(runtime: RuntimeDep) -> Clock:
    return runtime.clock


async def get_events_settings(runtime: RuntimeDep) -> EventsSettings:
    return runtime.events_settings


async def get_gates(runtime: RuntimeDep) -> EventGates:
    return runtime.gates


async def get_listing_cache(runtime: RuntimeDep) -> ListingCache:
    return runtime.listing_cache


ClockDep = Annotated[Clock, Depends(get_clock)]
EventsSettingsDep = Annotated[EventsSettings, Depends(get_events_settings)]
GatesDep = Annotated[EventGates, Depends(get_gates)]
ListingCacheDep = Annotated[ListingCache, Depends(get_listing_cache)]
