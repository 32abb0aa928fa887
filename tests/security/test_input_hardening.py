"""Hostile input through the gateway: oversized and endless bodies (413), deeply nested JSON,
control characters / NUL / unpaired surrogates in text, numbers that overflow, and abused
pagination. The rule everywhere: a clear 4xx problem+json, never a 5xx.

Which fields are text or numbers, and which list endpoints page, is read from the services'
OpenAPI documents, so new endpoints and fields are covered without editing this file; real
objects (a circle, an event, a meeting, a goal, an obligation, a payment) stand behind the path
parameters so requests get past the "not found" checks to the input handling.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from seckit import (
    Accounts,
    User,
    assert_problem,
    client,
    describe,
    fresh_source_ip,
    json_body_schema,
    resolve_schema,
    routed_operations,
    sample_objects,
    service_documents,
    unique_email,
)

try:
    DOCUMENTS = service_documents()
    DISCOVERY_ERROR = None
except Exception as exc:  # a service mid-edit may not import; the fixed tests below still run
    DOCUMENTS, DISCOVERY_ERROR = {}, f"{type(exc).__name__}: {exc}"

TEN_MB = 10 * 1024 * 1024
PROTECTED = routed_operations(DOCUMENTS) if DOCUMENTS else []
PUBLIC = routed_operations(DOCUMENTS, public=True) if DOCUMENTS else []
OPERATION = {
    (method, path): (service, DOCUMENTS[service]["paths"][path][method.lower()])
    for service, method, path in PROTECTED + PUBLIC
}


def _in(days: int, minutes: int = 0) -> str:
    return (dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=days, minutes=minutes)).isoformat()


# -- valid bodies to mutate, per operation (the fields mutated come from the OpenAPI schema) --------
def _circle(_: World) -> dict[str, Any]:
    return {
        "name": f"Hardening {uuid.uuid4().hex[:6]}",
        "description": "d",
        "capacity_max": 8,
        "capacity_min": 2,
        "schedule": {"weekday": "friday", "time": "18:00", "timezone": "Europe/Berlin"},
        "location": {"city": "Bonn"},
        "dues": {"amount": 900, "currency": "EUR"},
    }


def _event(world: World) -> dict[str, Any]:
    return {
        "type": "meetup",
        "title": "Hardening",
        "description": "d",
        "starts_at": _in(40),
        "ends_at": _in(40, 120),
        "timezone": "Europe/Berlin",
        "location": {"city": "Bonn"},
        "capacity": 10,
        "price": {"amount": 0, "currency": "EUR"},
        "circle_ids": [world.ids["circle"]],
    }


BASE_BODIES = {
    ("POST", "/api/v1/auth/register"): lambda w: {
        "email": unique_email("hard"),
        "password": "a long enough password",
        "display_name": "Hard",
    },
    ("PATCH", "/api/v1/auth/me"): lambda w: {"display_name": "Hard"},
    ("POST", "/api/v1/circles"): _circle,
    ("PATCH", "/api/v1/circles/{circle_id}"): lambda w: {"name": "Renamed", "description": "d", "capacity_max": 9},
    ("POST", "/api/v1/circles/{circle_id}/meetings"): lambda w: {
        "starts_at": _in(50, uuid.uuid4().int % 9000),
        "duration_minutes": 60,
        "note": "n",
    },
    ("PATCH", "/api/v1/circles/{circle_id}/meetings/{meeting_id}"): lambda w: {"note": "n", "duration_minutes": 90},
    ("POST", "/api/v1/circles/{circle_id}/goals"): lambda w: {
        "title": "Goal",
        "period_start": dt.date.today().isoformat(),
        "period_end": (dt.date.today() + dt.timedelta(days=7)).isoformat(),
    },
    ("PATCH", "/api/v1/circles/{circle_id}/goals/{goal_id}"): lambda w: {"title": "Goal 2"},
    ("POST", "/api/v1/events"): _event,
    ("PATCH", "/api/v1/events/{event_id}"): lambda w: {"title": "Hardening 2", "description": "d", "capacity": 12},
    ("POST", "/api/v1/events/requirement-templates"): lambda w: {
        "name": f"Hard {uuid.uuid4().hex[:6]}",
        "description": "d",
        "requirements": [{"kind": "verified_email"}],
    },
    ("POST", "/api/v1/payments/obligations/{obligation_id}/notes"): lambda w: {"text": "note"},
    ("POST", "/api/v1/payments/obligations/{obligation_id}/resolve"): lambda w: {"note": "note"},
    ("POST", "/api/v1/payments/obligations/{obligation_id}/offline-payment"): lambda w: {
        "amount": 1,
        "method": "cash",
        "note": "n",
    },
    ("POST", "/api/v1/payments/{payment_id}/refunds"): lambda w: {"amount": 1, "reason": "r"},
    # A real change of roles, so the reason is written to the audit log.
    ("PUT", "/api/v1/users/{user_id}/roles"): lambda w: {"roles": ["member", "support"], "reason": "hardening"},
    ("POST", "/api/v1/events/{event_id}/waitlist/{registration_id}/move"): lambda w: {"position": 1},
}

NASTY_TEXT = {
    "NUL": "a\u0000b",
    "unpaired high surrogate": "a\ud800b",
    "unpaired low surrogate": "\udfff",
    "C0 controls and ANSI escape": "a\u0007\u001b[31mred\u001b[0m",
    "DEL and C1 control": "a\u007f\u0085b",
    "bidi override": "abc\u202edcba",
    "very long": "x" * 100_000,
}
# Raw JSON number literals (1e309 is beyond float: Python would read it as infinity).
NASTY_NUMBERS = {
    "2**63": str(2**63),
    "2**64": str(2**64),
    "-2**63-1": str(-(2**63) - 1),
    "1e309": "1e309",
    "-1e309": "-1e309",
    "1.5": "1.5",
    "-1": "-1",
    "huge literal": "9" * 5000,
}


# -- the objects ------------------------------------------------------------------------------------
class World:
    def __init__(self) -> None:
        self.ids: dict[str, str] = {}
        self.admin: User | None = None


@pytest.fixture(scope="module")
def world(platform, accounts: Accounts) -> World:
    w = World()
    w.admin = accounts.admin
    w.ids = sample_objects(platform, accounts.admin, accounts.create(prefix="hard-payer"))
    return w


PARAM_OBJECT = {
    "circle_id": "circle",
    "meeting_id": "meeting",
    "goal_id": "goal",
    "event_id": "event",
    "obligation_id": "obligation",
    "payment_id": "payment",
    "user_id": "user",
    "registration_id": "registration",
    "conversation_id": "conversation",
}


def _path(world: World, path: str) -> str:
    values = {}
    for segment in path.split("/"):
        if segment.startswith("{"):
            name = segment[1:-1]
            values[name] = world.ids.get(PARAM_OBJECT.get(name, ""), str(uuid.uuid4()))
    if "/waitlist/" in path:
        values["event_id"] = world.ids["published"]
    return path.format(**values)


def _send(platform, world: World, method: str, path: str, raw: bytes) -> httpx.Response:
    headers = {**world.admin.headers, "Content-Type": "application/json"}
    if method == "POST":
        headers["Idempotency-Key"] = uuid.uuid4().hex
    with client(platform.url("gateway")) as http:
        return http.request(method, _path(world, path), content=raw, headers=headers)


def _no_server_error(response: httpx.Response) -> None:
    assert response.status_code < 500, f"server error: {describe(response)}"
    if response.status_code >= 400:
        assert response.headers.get("content-type", "").startswith("application/problem+json"), describe(response)


# -- oversized bodies ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "authenticated"),
    [("/api/v1/circles", True), ("/api/v1/auth/register", False), ("/api/v1/payments/webhooks/stripe", False)],
)
def test_a_10_mb_body_is_refused_with_413(platform, accounts: Accounts, path: str, authenticated: bool):
    headers = {"Content-Type": "application/json", **(accounts.admin.headers if authenticated else {})}
    body = b'{"name": "' + b"a" * TEN_MB + b'"}'
    with client(platform.url("gateway"), timeout=60) as http:
        response = http.post(path, content=body, headers=headers)
    assert_problem(response, 413)


@pytest.mark.parametrize(("path", "authenticated"), [("/api/v1/circles", True), ("/api/v1/auth/login", False)])
def test_a_chunked_body_without_length_is_cut_off_with_413(
    platform, accounts: Accounts, path: str, authenticated: bool
):
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(10):
            yield b"a" * (1024 * 1024)
        yield b'"}'

    headers = {"Content-Type": "application/json", **(accounts.admin.headers if authenticated else {})}
    with client(platform.url("gateway"), timeout=60) as http:
        try:
            response = http.post(path, content=chunks(), headers=headers)
        except (httpx.RemoteProtocolError, httpx.WriteError) as exc:  # cut off mid-upload without an answer
            pytest.fail(f"the gateway dropped the connection instead of answering 413: {exc!r}")
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert_problem(response, 413)


@pytest.mark.parametrize(
    ("path", "body_bytes", "authenticated", "status"),
    [
        ("/api/v1/auth/password", 64, False, 401),
        ("/api/v1/circles", 64, False, 401),
        ("/api/v1/circles", 2 * 1024 * 1024, True, 413),
    ],
    ids=[
        "401 before reading the body (credential endpoint)",
        "401 before reading the body",
        "413 with the body unread",
    ],
)
def test_a_refusal_that_leaves_the_body_unread_says_connection_close_or_keeps_the_connection_usable(
    platform, accounts: Accounts, path: str, body_bytes: int, authenticated: bool, status: int
):
    """RFC 9112 §9.6: a server that will close the connection after this response says
    `Connection: close`; otherwise the client sends its next request on a dead connection and,
    say, a POST fails for no reason of its own (clients do not retry non-idempotent requests).
    The failure is intermittent, so the pair (refused request, next request) is tried a few times."""
    import http.client

    host, port = platform.url("gateway").removeprefix("http://").split(":")
    headers = {"Content-Type": "application/json", **(accounts.admin.headers if authenticated else {})}
    body = b'{"x": "' + b"a" * body_bytes + b'"}'
    dropped = 0
    for _ in range(30):
        connection = http.client.HTTPConnection(host, int(port), timeout=30, source_address=(fresh_source_ip(), 0))
        try:
            connection.request("POST", path, body=body, headers=headers)
            first = connection.getresponse()
            first.read()
            assert first.status == status, first.status
            if (first.getheader("connection") or "").lower() == "close":
                continue  # announced: a client opens a new connection
            connection.request("GET", "/api/v1/auth/me", headers=accounts.admin.headers)
            second = connection.getresponse()
            second.read()
            assert second.status == 200, second.status
        except (http.client.RemoteDisconnected, ConnectionError):
            dropped += 1
        finally:
            connection.close()
    assert dropped == 0, (
        f"{dropped}/30 times the gateway dropped the connection after a {status} without `Connection: close`"
    )


# -- deeply nested JSON -------------------------------------------------------------------------------
DEEP = {
    "arrays": "[" * 10_000 + "]" * 10_000,
    "objects": '{"a":' * 10_000 + "1" + "}" * 10_000,
    "object of arrays": '{"name":' + "[" * 10_000 + "]" * 10_000 + "}",
}


@pytest.mark.parametrize("shape", list(DEEP))
@pytest.mark.parametrize(
    ("via", "path"),
    [
        ("gateway", "/api/v1/circles"),
        ("gateway", "/api/v1/auth/register"),
        ("gateway", "/api/v1/payments/checkout"),
        ("auth", "/api/v1/auth/login"),
        ("circles", "/api/v1/events"),
        ("payments", "/api/v1/payments/checkout"),
    ],
)
def test_deeply_nested_json_is_a_client_error(platform, accounts: Accounts, shape: str, via: str, path: str):
    with client(platform.url(via)) as http:
        response = http.post(
            path, content=DEEP[shape].encode(), headers={**accounts.admin.headers, "Content-Type": "application/json"}
        )
    assert 400 <= response.status_code < 500, describe(response)
    assert response.headers.get("content-type", "").startswith("application/problem+json"), describe(response)


@pytest.mark.parametrize(
    "raw",
    [b"\xff\xfe\x00garbage", b'{"name": "\xc3\x28"}', b"", b"null", b"[]", b'"just a string"', b"{,}"],
    ids=["binary", "invalid-utf8", "empty", "null", "array", "string", "broken"],
)
def test_malformed_bodies_are_client_errors(platform, world: World, raw: bytes):
    for method, path in (
        ("POST", "/api/v1/circles"),
        ("POST", "/api/v1/events"),
        ("POST", "/api/v1/auth/register"),
        ("PATCH", "/api/v1/circles/{circle_id}"),
        ("POST", "/api/v1/payments/checkout"),
    ):
        response = _send(platform, world, method, path, raw)
        assert 400 <= response.status_code < 500, describe(response)
        _no_server_error(response)


# -- text and numbers in every field the schemas declare -------------------------------------------------
def _fields(
    doc: dict[str, Any], schema: dict[str, Any], kind: str, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    """Paths of properties of `kind` — "string" (free text: no format, enum or pattern), "date"
    (format date or date-time) or "integer" — one level deep into objects."""
    for name, prop in (schema.get("properties") or {}).items():
        prop = resolve_schema(doc, prop)
        types = {prop.get("type")} | {resolve_schema(doc, o).get("type") for o in prop.get("anyOf", [])}
        formats = {prop.get("format")} | {resolve_schema(doc, o).get("format") for o in prop.get("anyOf", [])}
        if kind == "date" and "string" in types and formats & {"date", "date-time"}:
            yield (*prefix, name)
        elif (
            kind == "string"
            and "string" in types
            and not (prop.get("format") or prop.get("enum") or prop.get("pattern"))
        ):
            if not any(
                resolve_schema(doc, o).get("format")
                or resolve_schema(doc, o).get("enum")
                or resolve_schema(doc, o).get("pattern")
                for o in prop.get("anyOf", [])
                if resolve_schema(doc, o).get("type") == "string"
            ):
                yield (*prefix, name)
        elif kind == "integer" and "integer" in types:
            yield (*prefix, name)
        elif "object" in types and not prefix:
            yield from _fields(
                doc,
                prop
                if prop.get("properties")
                else next(
                    (resolve_schema(doc, o) for o in prop.get("anyOf", []) if resolve_schema(doc, o).get("properties")),
                    {},
                ),
                kind,
                (name,),
            )


def _field_schema(doc: dict[str, Any], schema: dict[str, Any], field: tuple[str, ...]) -> dict[str, Any]:
    for name in field:
        schema = resolve_schema(doc, (schema.get("properties") or {}).get(name, {}))
        if "properties" not in schema and schema.get("anyOf"):
            schema = next(
                (resolve_schema(doc, o) for o in schema["anyOf"] if resolve_schema(doc, o).get("type") != "null"),
                schema,
            )
    return schema


def _with(body: dict[str, Any], field: tuple[str, ...], marker: str) -> dict[str, Any]:
    copy = json.loads(json.dumps(body))
    target = copy
    for name in field[:-1]:
        if not isinstance(target.get(name), dict):
            target[name] = {}
        target = target[name]
    target[field[-1]] = marker
    return copy


def _typed_cases(kind: str) -> list[Any]:
    cases = []
    for method, path in BASE_BODIES:
        if (method, path) not in OPERATION:
            continue
        service, operation = OPERATION[(method, path)]
        schema = json_body_schema(DOCUMENTS[service], operation)
        if not schema:
            continue
        for field in _fields(DOCUMENTS[service], schema, kind):
            cases.append(pytest.param(method, path, field, id=f"{method} {path} {'.'.join(field)}"))
    return cases


@pytest.mark.parametrize(("method", "path", "field"), _typed_cases("string"))
def test_hostile_text_is_refused_or_stored_safely(
    platform, world: World, method: str, path: str, field: tuple[str, ...]
):
    base = BASE_BODIES[(method, path)](world)
    problems = []
    for label, text in NASTY_TEXT.items():
        raw = json.dumps(_with(base, field, text)).encode()  # ensure_ascii: surrogates travel as \\ud800 escapes
        response = _send(platform, world, method, path, raw)
        if response.status_code >= 500:
            problems.append(f"{label}: {describe(response)}")
        elif response.status_code < 300 and label in ("NUL", "unpaired high surrogate", "unpaired low surrogate"):
            # Accepted: what comes back must be exactly what was sent (nothing truncated or mangled).
            echoed = response.json()
            for name in field:
                echoed = echoed.get(name) if isinstance(echoed, dict) else None
            if echoed is not None and echoed != text:
                problems.append(f"{label}: stored as {echoed!r}, sent {text!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("method", "path", "field"), _typed_cases("integer"))
def test_numbers_out_of_range_are_422(platform, world: World, method: str, path: str, field: tuple[str, ...]):
    service, operation = OPERATION[(method, path)]
    doc = DOCUMENTS[service]
    declared = _field_schema(doc, json_body_schema(doc, operation) or {}, field)
    non_negative = any(declared.get(key, -1) >= 0 for key in ("minimum", "exclusiveMinimum"))
    base = BASE_BODIES[(method, path)](world)
    problems = []
    for label, literal in NASTY_NUMBERS.items():
        raw = json.dumps(_with(base, field, "__NUMBER__")).replace('"__NUMBER__"', literal).encode()
        response = _send(platform, world, method, path, raw)
        must_refuse = label != "-1" or non_negative
        # A literal too long for the JSON parser (Python caps integers at 4300 digits) may be
        # refused as malformed JSON (400) before any field is looked at.
        refused = (422, 400) if label == "huge literal" else (422,)
        if response.status_code >= 500:
            problems.append(f"{label}: {describe(response)}")
        elif must_refuse and response.status_code not in refused:
            problems.append(f"{label}: expected 422, {describe(response)}")
    assert not problems, "\n".join(problems)


def test_a_partial_nested_update_is_not_a_server_error(platform, world: World):
    """PATCH with `location: {city}` (online left to its default) must update or 422, not 500."""
    response = _send(
        platform, world, "PATCH", "/api/v1/circles/{circle_id}", json.dumps({"location": {"city": "Köln"}}).encode()
    )
    _no_server_error(response)


EXTREME_DATES = {
    "year 1": ("0001-01-01", "0001-01-01T00:00:00+00:00"),
    "year 9999": ("9999-12-31", "9999-12-31T23:59:59+00:00"),
    "year 10000": ("10000-01-01", "10000-01-01T00:00:00+00:00"),
    "not a date": ("2024-02-30", "2024-02-30T25:61:00+00:00"),
    "offset beyond a day": ("2024-01-01", "2024-01-01T00:00:00+25:00"),
}


@pytest.mark.parametrize(("method", "path", "field"), _typed_cases("date"))
def test_extreme_dates_are_refused_or_handled(platform, world: World, method: str, path: str, field: tuple[str, ...]):
    """Dates at the edges of the calendar (year 1, year 9999) are valid JSON Schema dates but far
    outside anything a circle or event needs; they must be refused (422) or handled, never a 500."""
    service, operation = OPERATION[(method, path)]
    declared = _field_schema(DOCUMENTS[service], json_body_schema(DOCUMENTS[service], operation) or {}, field)
    date_time = declared.get("format") == "date-time" or any(
        o.get("format") == "date-time" for o in declared.get("anyOf", [])
    )
    base = BASE_BODIES[(method, path)](world)
    problems = []
    for label, (day, moment) in EXTREME_DATES.items():
        response = _send(
            platform, world, method, path, json.dumps(_with(base, field, moment if date_time else day)).encode()
        )
        if response.status_code >= 500:
            problems.append(f"{label}: {describe(response)}")
    assert not problems, "\n".join(problems)


def _ops_with_several_dates() -> list[Any]:
    found: dict[tuple[str, str], list[tuple[str, ...]]] = {}
    for param in _typed_cases("date"):
        method, path, field = param.values
        found.setdefault((method, path), []).append(field)
    return [
        pytest.param(method, path, fields, id=f"{method} {path}")
        for (method, path), fields in found.items()
        if len(fields) > 1
    ]


@pytest.mark.parametrize(("method", "path", "fields"), _ops_with_several_dates())
def test_every_date_at_the_same_edge_is_refused_or_handled(
    platform, world: World, method: str, path: str, fields: list[tuple[str, ...]]
):
    """The same extreme value in every date field at once (a period from year 1 to year 1 passes
    "end after start" and "at most a year" checks, and still reaches the database)."""
    service, operation = OPERATION[(method, path)]
    schema = json_body_schema(DOCUMENTS[service], operation) or {}
    problems = []
    for label, (day, moment) in EXTREME_DATES.items():
        body = BASE_BODIES[(method, path)](world)
        for field in fields:
            declared = _field_schema(DOCUMENTS[service], schema, field)
            date_time = declared.get("format") == "date-time" or any(
                o.get("format") == "date-time" for o in declared.get("anyOf", [])
            )
            body = _with(body, field, moment if date_time else day)
        response = _send(platform, world, method, path, json.dumps(body).encode())
        if response.status_code >= 500:
            problems.append(f"{label}: {describe(response)}")
    assert not problems, "\n".join(problems)


# -- pagination -------------------------------------------------------------------------------------------
def _paged() -> list[Any]:
    cases = []
    for service, method, path in PROTECTED:
        if method != "GET":
            continue
        names = {
            p.get("name")
            for p in DOCUMENTS[service]["paths"][path]["get"].get("parameters", [])
            if p.get("in") == "query"
        }
        if {"limit", "cursor"} <= names:
            cases.append(pytest.param(service, path, id=path))
    return cases


def _cursor(values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).rstrip(b"=").decode()


def _real_cursor(platform, world: World, path: str) -> str | None:
    with client(platform.url("gateway")) as http:
        response = http.get(_path(world, path), params={"limit": 1}, headers=world.admin.headers)
    return (
        response.json().get("next_cursor")
        if response.status_code == 200 and isinstance(response.json(), dict)
        else None
    )


BAD_LIMITS = ["0", "101", "-1", str(2**63), "1e2", "ten", "", "1.5", "100000000000000000000000000"]


@pytest.mark.parametrize(("service", "path"), _paged())
def test_pagination_abuse_is_422(platform, world: World, service: str, path: str):
    foreign = {
        "circles": _cursor({"t": "2024-01-01T00:00:00+00:00", "id": str(uuid.uuid4())}),  # a payments-style cursor
        "payments": _cursor({"sort": "name", "value": "a", "id": str(uuid.uuid4())}),  # a circles-style cursor
        "auth": _cursor({"sort": "name", "value": "a", "id": str(uuid.uuid4())}),
        "messaging": _cursor({"t": "2024-01-01T00:00:00+00:00", "id": str(uuid.uuid4())}),  # payments-style
    }[service]
    cursors = {
        "garbage": "!!!not-base64!!!",
        "base64 of non-JSON": base64.urlsafe_b64encode(b"\x00\x01binary").decode(),
        "JSON that is not an object": _cursor([1, 2, 3]),
        "empty object": _cursor({}),
        "unexpected keys": _cursor({"id": str(uuid.uuid4()), "admin": True}),
        "wrong value types": _cursor({"sort": 1, "value": {"x": 1}, "id": 42, "t": [], "created_at": None}),
        "from another service": foreign,
        "too long": "A" * 5000,
    }
    real = _real_cursor(platform, world, path)
    if real:
        decoded = json.loads(base64.urlsafe_b64decode(real + "=" * (-len(real) % 4)))
        tampered = {key: ("not-a-uuid" if key == "id" else "yesterday") for key in decoded}
        cursors["tampered"] = _cursor(tampered)
    problems = []
    with client(platform.url("gateway")) as http:
        url = _path(world, path)
        for limit in BAD_LIMITS:
            response = http.get(url, params={"limit": limit}, headers=world.admin.headers)
            if response.status_code != 422:
                problems.append(f"limit={limit!r}: {describe(response)}")
        for label, cursor in cursors.items():
            response = http.get(url, params={"cursor": cursor}, headers=world.admin.headers)
            if response.status_code != 422:
                problems.append(f"cursor {label}: {describe(response)}")
            elif not response.headers.get("content-type", "").startswith("application/problem+json"):
                problems.append(f"cursor {label}: 422 without problem+json")
    assert not problems, "\n".join(problems)


def test_operations_were_discovered():
    assert DISCOVERY_ERROR is None, DISCOVERY_ERROR
    assert _typed_cases("string") and _typed_cases("integer") and _typed_cases("date") and _paged()
