"""The registration route's fast lane: the usual request answered without FastAPI's per-request
dependency solving, with the same checks and the same answer.

Profiled under the registration benchmark (py-spy on circles), solving the route's dependencies
(runtime, clock, settings, gates, the session generator, header, path and body parameters,
cache keys) took about an eighth of circles' CPU per registration, on top of what the work
itself costs; verifying the token is the only one of them that does real work. `FastLaneRoute`
keeps the route exactly as declared (so the OpenAPI document and the standard handler are
unchanged) and puts a handler in front of the standard one. For a request in the usual shape —
an event id in canonical form, an `Idempotency-Key` of at most 200 characters or none, and a
body that is empty or JSON (`Content-Type: application/json`) valid for `RegistrationCreate` —
it reads those itself, then verifies the bearer token with the very dependency the route
declares (`current_principal`: one Authorization header, a valid, unrevoked token) and runs
the use case as the route does. Anything else (a malformed id, body or header) goes to the
standard handler untouched, so every error answer is FastAPI's own; the body read here is
cached on the request and read again from there.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any
from uuid import UUID

from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic import TypeAdapter, ValidationError

from mcm_circles.runtime import CirclesRuntime
from mcm_shared.security import current_principal

_MAX_IDEMPOTENCY_KEY = 200  # as the route declares (router.IdempotencyKey)

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
# (request, runtime, principal, event id, idempotency key, body) → response: the route's own work.
Work = Callable[..., Awaitable[Response]]


class FastLaneRoute(APIRoute):
    """An `APIRoute` whose handler first tries `fast_lane` (set on the class by the router)."""

    fast_lane: Callable[[Request, Handler], Awaitable[Response]]

    def get_route_handler(self) -> Handler:
        standard = super().get_route_handler()
        fast_lane = type(self).fast_lane

        async def handler(request: Request) -> Response:
            return await fast_lane(request, standard)

        return handler


def fast_lane_route(body_type: Any, work: Work) -> type[FastLaneRoute]:
    """A `FastLaneRoute` class for a route whose body is `body_type` (validated as FastAPI
    would: Python validation of the parsed JSON) and whose usual request is answered by `work`."""
    body_adapter: TypeAdapter[Any] = TypeAdapter(body_type)

    async def fast_lane(request: Request, standard: Handler) -> Response:
        parsed = await _usual_parameters(request, body_adapter)
        if parsed is None:
            return await standard(request)
        event_id, idempotency_key, data = parsed
        principal = await current_principal(request)
        runtime: CirclesRuntime = request.app.state.runtime
        return await work(request, runtime, principal, event_id, idempotency_key, data)

    return type("RegistrationFastLaneRoute", (FastLaneRoute,), {"fast_lane": staticmethod(fast_lane)})


async def _usual_parameters(request: Request, body_adapter: TypeAdapter[Any]) -> tuple[UUID, str | None, Any] | None:
    """(event id, Idempotency-Key, body) when the request has the usual shape, else None."""
    raw_id = request.path_params.get("event_id")
    if not isinstance(raw_id, str) or len(raw_id) != 36:
        return None
    try:
        event_id = UUID(raw_id)
    except ValueError:
        return None
    if str(event_id) != raw_id.lower():
        return None  # another spelling pydantic might read differently: the standard handler decides
    idempotency_key = request.headers.get("idempotency-key")
    if idempotency_key is not None and len(idempotency_key) > _MAX_IDEMPOTENCY_KEY:
        return None
    body = await request.body()  # cached on the request: the standard handler reads it from there
    if not body:
        value: Any = None
    else:
        content_type = request.headers.get("content-type", "")
        if content_type.partition(";")[0].strip().lower() != "application/json":
            return None
        try:
            value = json.loads(body)
        except ValueError:
            return None
    try:
        data = body_adapter.validate_python(value)
    except ValidationError:
        return None
    return event_id, idempotency_key, data
