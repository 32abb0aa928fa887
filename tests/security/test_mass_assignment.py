"""Mass assignment: no request body accepts a field the client may not set.

For every JSON request body of every routed operation (read from the services' OpenAPI
documents, so new schemas are covered automatically), each field the matching response carries
but the request schema does not declare — ids, status, counters, timestamps, verification flags,
roles... — plus a list of always-sensitive names, is sent on its own. It must be refused with 422
naming that field (not silently ignored, not applied). A few end-to-end checks confirm that
nothing was changed by such a request.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from seckit import (
    USER_PASSWORD,
    Accounts,
    User,
    client,
    describe,
    json_body_schema,
    resolve_schema,
    routed_operations,
    service_documents,
    success_schema,
    unique_email,
)

SENSITIVE = {
    "id": str(uuid.uuid4()),
    "user_id": str(uuid.uuid4()),
    "roles": ["admin"],
    "role": "admin",
    "is_admin": True,
    "admin": True,
    "email_verified": True,
    "phone_verified": True,
    "verified": True,
    "disabled": False,
    "status": "active",
    "created_at": "2000-01-01T00:00:00Z",
    "updated_at": "2000-01-01T00:00:00Z",
    "password_hash": "$2b$04$abcdefghijklmnopqrstuv",
}

try:
    DOCUMENTS = service_documents()
    DISCOVERY_ERROR = None
except Exception as exc:  # a service mid-edit may not import
    DOCUMENTS, DISCOVERY_ERROR = {}, f"{type(exc).__name__}: {exc}"


def _value_for(schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    if kind is None and schema.get("anyOf"):
        kind = next(
            (option.get("type") for option in schema["anyOf"] if option.get("type") not in (None, "null")), None
        )
    return {"integer": 7, "number": 7.5, "boolean": True, "array": [], "object": {}}.get(kind, "x")


def _variants(doc: dict[str, Any], request: dict[str, Any]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(tag, fields that select the variant, its schema): one for a plain object; one per member of
    a discriminated union (the discriminator is sent, or validation stops at the missing tag)."""
    discriminator = request.get("discriminator")
    if not discriminator or not discriminator.get("mapping"):
        return [("", {}, request)]
    name = discriminator["propertyName"]
    return [
        (tag, {name: tag}, resolve_schema(doc, {"$ref": ref})) for tag, ref in sorted(discriminator["mapping"].items())
    ]


def _cases() -> list[Any]:
    """One case per operation: every field its request schema does not declare, all at once
    (validation reports each unknown field, so one request checks them all)."""
    cases = []
    if not DOCUMENTS:
        return cases
    for service, method, path in routed_operations(DOCUMENTS) + routed_operations(DOCUMENTS, public=True):
        operation = DOCUMENTS[service]["paths"][path][method.lower()]
        request = json_body_schema(DOCUMENTS[service], operation)
        if request is None or request.get("type") not in (None, "object"):
            continue
        response = success_schema(DOCUMENTS[service], operation)
        candidates = {name: _value_for(prop) for name, prop in (response.get("properties") or {}).items()}
        candidates.update({name: value for name, value in SENSITIVE.items() if name not in candidates})
        for tag, base, schema in _variants(DOCUMENTS[service], request):
            accepted = set(schema.get("properties") or {}) | set(base)
            extra = {name: value for name, value in sorted(candidates.items()) if name not in accepted}
            if extra:
                label = f"{method} {path}" + (f" [{tag}]" if tag else "")
                cases.append(pytest.param(method, path, base, extra, id=label))
    return cases


def _concrete(path: str) -> str:
    return "/".join(str(uuid.uuid4()) if segment.startswith("{") else segment for segment in path.split("/"))


@pytest.mark.parametrize(("method", "path", "base", "extra"), _cases())
def test_fields_the_client_may_not_set_are_refused(
    platform, accounts: Accounts, method: str, path: str, base: dict[str, Any], extra: dict[str, Any]
):
    headers = {**accounts.admin.headers, "Idempotency-Key": uuid.uuid4().hex}
    with client(platform.url("gateway")) as http:
        response = http.request(method, _concrete(path), json={**base, **extra}, headers=headers)
    assert response.status_code == 422, describe(response)
    errors = response.json().get("errors") or []
    refused = {error["loc"][-1] for error in errors if error.get("loc") and error.get("type") == "extra_forbidden"}
    accepted = sorted(set(extra) - refused)
    assert not accepted, f"{method} {path} does not refuse {accepted} (silently accepted?); errors: {errors}"


def test_the_schemas_were_read():
    assert DISCOVERY_ERROR is None, DISCOVERY_ERROR
    assert len(_cases()) > 30


# -- end to end: the refused request changed nothing -------------------------------------------------
def test_signing_up_as_a_verified_admin_is_refused_and_creates_no_account(platform):
    email = unique_email("escalate")
    with client(platform.url("gateway")) as http:
        response = http.post(
            "/api/v1/auth/register",
            json={
                "email": email,
                "password": USER_PASSWORD,
                "display_name": "Eve",
                "roles": ["admin"],
                "email_verified": True,
            },
        )
        assert response.status_code == 422, describe(response)
        login = http.post("/api/v1/auth/login", json={"email": email, "password": USER_PASSWORD})
    assert login.status_code == 401, describe(login)


def test_a_member_cannot_grant_himself_roles_through_his_profile(platform, accounts: Accounts):
    user: User = accounts.create(prefix="selfpromote")
    with client(platform.url("gateway")) as http:
        for body in (
            {"display_name": "Eve", "roles": ["admin"]},
            {"display_name": "Eve", "email_verified": True},
            {"roles": ["admin"]},
        ):
            assert http.patch("/api/v1/auth/me", json=body, headers=user.headers).status_code == 422
        me = http.get("/api/v1/auth/me", headers=user.headers).json()
    assert me["roles"] == ["member"] and me["email_verified"] is False and me["display_name"] != "Eve"
    # And a fresh token (roles are read again at sign-in) carries no more than before.
    accounts.login(user)
    assert user.roles == ["member"]


def test_counters_and_status_of_a_circle_cannot_be_set(platform, accounts: Accounts):
    admin = accounts.admin
    body = {
        "name": f"Assign {uuid.uuid4().hex[:6]}",
        "schedule": {"weekday": "monday", "time": "19:00", "timezone": "Europe/Berlin"},
        "location": {"city": "Bonn"},
    }
    with client(platform.url("gateway")) as http:
        created = http.post("/api/v1/circles", json=body, headers=admin.headers)
        assert created.status_code == 201, describe(created)
        circle = created.json()
        for extra in (
            {"member_count": 10},
            {"open_seats": 0},
            {"status": "archived"},
            {"facilitators": []},
            {"id": str(uuid.uuid4())},
        ):
            response = http.patch(f"/api/v1/circles/{circle['id']}", json=extra, headers=admin.headers)
            assert response.status_code == 422, describe(response)
        after = http.get(f"/api/v1/circles/{circle['id']}", headers=admin.headers).json()
    for name in ("id", "member_count", "open_seats", "status", "facilitators"):
        assert after[name] == circle[name], name


def test_an_event_cannot_be_created_published_or_prefilled(platform, accounts: Accounts):
    admin = accounts.admin
    body = {
        "type": "meetup",
        "title": "Assign",
        "starts_at": "2031-01-01T18:00:00+00:00",
        "ends_at": "2031-01-01T20:00:00+00:00",
        "timezone": "Europe/Berlin",
        "location": {"city": "Bonn"},
        "capacity": 5,
    }
    with client(platform.url("gateway")) as http:
        for extra in (
            {"status": "published"},
            {"confirmed_count": 5},
            {"seats_available": 100},
            {"published_at": "2030-01-01T00:00:00Z"},
        ):
            response = http.post("/api/v1/events", json={**body, **extra}, headers=admin.headers)
            assert response.status_code == 422, describe(response)
        created = http.post("/api/v1/events", json=body, headers=admin.headers)
        assert created.status_code == 201 and created.json()["status"] == "draft", describe(created)


def test_a_registration_cannot_be_made_for_someone_else_or_pre_confirmed(platform, accounts: Accounts):
    admin = accounts.admin
    other = accounts.create(prefix="victim-reg")
    body = {
        "type": "meetup",
        "title": "Paid",
        "starts_at": "2031-02-01T18:00:00+00:00",
        "ends_at": "2031-02-01T20:00:00+00:00",
        "timezone": "Europe/Berlin",
        "location": {"city": "Bonn"},
        "capacity": 5,
        "price": {"amount": 2500, "currency": "EUR"},
    }
    member = accounts.create(prefix="registrant")
    with client(platform.url("gateway")) as http:
        event = http.post("/api/v1/events", json=body, headers=admin.headers).json()
        assert http.post(f"/api/v1/events/{event['id']}/publish", headers=admin.headers).status_code == 200
        for extra in (
            {"user_id": other.id},
            {"status": "confirmed"},
            {"price": {"amount": 0, "currency": "EUR"}},
            {"waitlist_position": 1},
        ):
            response = http.post(f"/api/v1/events/{event['id']}/registrations", json=extra, headers=member.headers)
            # user_id is a field now, for the event's managers only (registration on a member's
            # behalf): anyone else is refused the function, 403, and nothing is made.
            assert response.status_code == (403 if "user_id" in extra else 422), describe(response)
        mine = http.get(f"/api/v1/events/{event['id']}/registrations/me", headers=member.headers)
        theirs = http.get(f"/api/v1/events/{event['id']}/registrations/me", headers=other.headers)
    assert mine.status_code == 404 and theirs.status_code == 404, (describe(mine), describe(theirs))
