"""The registration route's fast lane (fast_lane.py): the usual request skips FastAPI's dependency
solving; every request answers exactly as the standard handler would, errors included."""

from __future__ import annotations

import json
from typing import Any

import fastapi.routing
import pytest

from mcm_circles.events.registrations import fast_lane
from mcm_circles.events.registrations.router import register

from .support import World

ROUTE = "/api/v1/events/{event_id}/registrations"
VOLATILE = {"id", "created_at", "confirmed_at", "instance", "request_id", "registration_id"}


def _comparable(body: bytes, event_id: str) -> Any:
    """The answer without what differs between two runs (ids, times, the request id)."""
    try:
        value = json.loads(body.replace(event_id.encode(), b"<event>").replace(event_id.upper().encode(), b"<EVENT>"))
    except ValueError:
        return body
    if isinstance(value, dict):
        return {key: item for key, item in value.items() if key not in VOLATILE}
    return value


@pytest.fixture
def standard_calls(monkeypatch) -> list[str]:
    """The registration route's runs of FastAPI's standard handler (its dependency solving)."""
    calls: list[str] = []
    solve = fastapi.routing.solve_dependencies

    async def counting(*args: Any, **kwargs: Any):
        if kwargs["dependant"].call is register:
            calls.append(kwargs["request"].method)
        return await solve(*args, **kwargs)

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", counting)
    return calls


async def test_the_usual_registration_skips_dependency_solving(world: World, standard_calls: list[str]):
    ptm = await world.person("ptm")
    event = await world.published_event(ptm, capacity=1)
    first, second = await world.person(), await world.person()
    assert (await world.register(first, event["id"]))["status"] == "confirmed"
    retry = await world.client.post(
        ROUTE.format(event_id=event["id"]), content=b"", headers={**second.headers, "Idempotency-Key": "k1"}
    )
    assert retry.status_code == 201 and retry.json()["status"] == "waitlisted"
    assert standard_calls == []
    # Not the usual shape (the key is too long): the standard handler answers, with its 422.
    refused = await world.client.post(
        ROUTE.format(event_id=event["id"]), json={}, headers={**second.headers, "Idempotency-Key": "k" * 201}
    )
    assert refused.status_code == 422
    assert standard_calls == ["POST"]


async def test_the_fast_lane_answers_every_request_as_the_standard_handler(world: World, monkeypatch):
    ptm = await world.person("ptm")
    hidden = await world.published_event(ptm, visibility="invited")
    token = (await world.person()).headers["Authorization"]

    def cases(event_id: str, person_headers: dict[str, str]) -> list[tuple[str, dict[str, str], bytes]]:
        path = ROUTE.format(event_id=event_id)
        json_type = {"Content-Type": "application/json"}
        return [
            (path, {**json_type}, b"{}"),  # no token
            (path, {**json_type, "Authorization": "Bearer not-a-token"}, b"{}"),
            (path, {**json_type, "Authorization": "Basic abc"}, b"{}"),
            (path, {**json_type, **person_headers}, b"{not json"),
            (path, {**json_type, **person_headers}, b'{"unknown": 1}'),
            (path, {**json_type, **person_headers}, b'{"answers": {"Bad Key": "x"}}'),
            (path, {**json_type, **person_headers}, b"[]"),
            (path, {"Content-Type": "text/plain", **person_headers}, b"{}"),
            (path, {**person_headers}, b"{}"),  # a body without a content type
            (path, {**json_type, **person_headers, "Idempotency-Key": "k" * 201}, b"{}"),
            (path, {**json_type, **person_headers, "Idempotency-Key": "k" * 200}, b'{"sponsor_user_id": "nope"}'),
            (ROUTE.format(event_id="not-a-uuid"), {**json_type, **person_headers}, b"{}"),
            (ROUTE.format(event_id=event_id.replace("-", "")), {**json_type, **person_headers}, b"{}"),
            (ROUTE.format(event_id=event_id.upper()), {**json_type, **person_headers}, b"{}"),
            (ROUTE.format(event_id=hidden["id"]), {**json_type, **person_headers}, b"{}"),
            (ROUTE.format(event_id="00000000-0000-4000-8000-000000000000"), {**json_type, **person_headers}, b"{}"),
            (path, {**json_type, **person_headers}, b"null"),
            (path, {**json_type, **person_headers}, b'{"sponsor_user_id": "00000000-0000-4000-8000-000000000000"}'),
            (path, {"Content-Type": "application/json; charset=utf-8", **person_headers}, b"{}"),
            (path, {**json_type, **person_headers}, b"{}"),  # registered already: 409
        ]

    async def answers() -> list[tuple[int, Any]]:
        """Each run on its own event and with its own member, so both runs start alike."""
        event = await world.published_event(ptm, capacity=1)
        path = ROUTE.format(event_id=event["id"])
        person = await world.person()
        out = []
        for url, headers, body in cases(event["id"], person.headers):
            response = await world.client.post(url, content=body, headers=headers)
            out.append((response.status_code, _comparable(response.content, event["id"])))
        # Two Authorization headers (a list of pairs keeps both).
        response = await world.client.post(
            path,
            content=b"{}",
            headers=[("Authorization", token), *person.headers.items(), ("Content-Type", "application/json")],
        )
        out.append((response.status_code, _comparable(response.content, event["id"])))
        return out

    with_fast_lane = await answers()
    monkeypatch.setattr(fast_lane, "_usual_parameters", _never_usual)
    without = await answers()
    for number, (fast, standard) in enumerate(zip(with_fast_lane, without, strict=True)):
        assert fast == standard, number
    statuses = [status for status, _ in with_fast_lane]
    assert {401, 400, 404, 409, 422, 201} <= set(statuses), statuses


async def _never_usual(request: Any, body_adapter: Any) -> None:
    return None


async def test_the_registration_route_is_tried_before_the_service_s_other_routes(world: World, monkeypatch):
    """FastAPI tries routes one by one (each a few microseconds of Python): the hot route comes
    first, so a registration is not matched against the service's other fifty-odd routes."""
    ptm = await world.person("ptm")
    event = await world.published_event(ptm)
    person = await world.person()
    tried: list[str] = []
    matches = fastapi.routing.APIRoute.matches

    def counting(self: fastapi.routing.APIRoute, scope: Any):
        tried.append(self.path)
        return matches(self, scope)

    monkeypatch.setattr(fastapi.routing.APIRoute, "matches", counting)
    await world.register(person, event["id"])
    assert tried[-1] == "/registrations" or tried[-1].endswith("/registrations"), tried
    assert len(tried) <= 5, tried
