"""Erasure is complete across services, checked against docs/privacy.md's machine-readable list.

On the real processes behind the gateway: a member with data in every service (auth: name,
email, phone, sessions; circles: membership, goal, attendance note, transfer message, event
answers and birth date; payments: a card payment with its Stripe links, a cash payment with a
staff note, a refund with a reason). Before erasure his export holds every field the list names;
after an admin erases him on his request, no removed or pseudonymised value comes back from any
service: not from the export (every service's part), nor from the answers staff see (user list,
support's overview, circle roster, event registrations, his obligations).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2ekit import Person, StripeStandIn, code_in, eventually, sign_in, sign_up, sms_to, verify_email

from mcm_devstack.platform import Platform

PLATFORM_ENV = {"RATE_LIMIT_CREDENTIAL_PER_MINUTE": "1000"}
# Starting the platform and walking a member through every service takes a while on a busy machine.
pytestmark = pytest.mark.timeout(420)
PRIVACY_DOC = Path(__file__).resolve().parents[2] / "docs" / "privacy.md"


def meaningful(value: Any) -> bool:
    return value not in (None, "", {}, [], False)


def privacy_fields() -> list[dict[str, str]]:
    """The JSON list between the privacy-fields markers of docs/privacy.md."""
    text = PRIVACY_DOC.read_text()
    block = re.search(r"<!-- privacy-fields -->\s*```json\n(.*?)```\s*<!-- /privacy-fields -->", text, re.S)
    assert block, "docs/privacy.md has no privacy-fields block"
    fields: list[dict[str, str]] = json.loads(block.group(1))
    return fields


def resolve(document: Any, path: str) -> list[Any]:
    """Every value at `path` ("a.b[].c"). A key missing outside lists raises KeyError (the doc
    names a field the export lacks); inside a list every item must have it too."""
    values = [document]
    for part in path.split("."):
        walk_list = part.endswith("[]")
        key = part[:-2] if walk_list else part
        values = [value[key] for value in values]
        if walk_list:
            values = [item for value in values for item in value]
    return values


# Ids, addresses and timestamps are checked field by field; as substrings they would also match
# rows that legitimately stay (his id on a kept payment, the stand-in's address in kept links).
_NOT_A_MARKER = re.compile(r"^([0-9a-f-]{36}|[\d.:]+|\d{4}-\d\d-\d\dT.*)$")


def strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url.path}: {response.status_code} {response.text}"
    return response.json() if response.content else None


@pytest.fixture(scope="module")
def api(platform: Platform) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=platform.url("gateway"), timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def admin(api: httpx.Client, admin_credentials: tuple[str, str]) -> Person:
    return sign_in(api, *admin_credentials)


@pytest.fixture(scope="module")
def stripe(platform: Platform) -> Iterator[StripeStandIn]:
    standin = StripeStandIn(platform)
    yield standin
    standin.close()


def test_the_doc_lists_every_service_and_only_known_erasure_kinds():
    fields = privacy_fields()
    assert {f["service"] for f in fields} == {"auth", "circles", "payments"}
    assert {f["erasure"] for f in fields} <= {"removed", "pseudonymised", "kept"}
    table = PRIVACY_DOC.read_text().split("<!-- privacy-fields -->")[0]
    for field in fields:  # every machine entry is in the human table too
        table_name = field["field"].split(".")[0]
        assert f"| {field['service']} | {table_name}" in table, field


def member_with_data_everywhere(
    api: httpx.Client, platform: Platform, stripe: StripeStandIn, admin: Person, tag: str
) -> tuple[Person, dict[str, Any], dict[str, Any]]:
    member = sign_up(api, f"Pete {tag}")
    verify_email(api, platform, member)
    phone = f"+1500555{uuid.uuid4().int % 10_000:04d}"
    ok(api.post("/api/v1/auth/phone", headers=member.auth, json={"phone": phone}), 202)
    code = code_in(sms_to(platform, phone)["body"])
    assert api.post("/api/v1/auth/verify-phone", headers=member.auth, json={"code": code}).status_code == 204

    def new_circle(dues: int | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": f"Circle {uuid.uuid4().hex[:6]}",
            "schedule": {"weekday": "tuesday", "time": "19:30", "timezone": "Europe/Berlin"},
            "location": {"city": "Berlin"},
        }
        if dues:
            body["dues"] = {"amount": dues, "currency": "EUR"}
        return ok(api.post("/api/v1/circles", headers=admin.auth, json=body), 201)

    # Dues paid by card: a Stripe customer, a receipt link, a checkout page, an invoice.
    circle = new_circle(2500)
    ok(api.post(f"/api/v1/circles/{circle['id']}/join", headers=member.auth), 201)

    def obligations() -> list[dict[str, Any]]:
        return ok(api.get("/api/v1/payments/obligations", headers=member.auth))["items"]

    dues = eventually(obligations, bool, what="dues obligation")[0]
    checkout = ok(
        api.post(
            "/api/v1/payments/checkout",
            headers={**member.auth, "Idempotency-Key": str(uuid.uuid4())},
            json={"obligation_id": dues["id"]},
        ),
        201,
    )
    assert stripe.pay(checkout["url"]).status_code == 303
    eventually(
        lambda: ok(api.get(f"/api/v1/payments/obligations/{dues['id']}", headers=member.auth)),
        lambda o: o["status"] == "settled",
        what="dues settled",
    )
    history = eventually(
        lambda: ok(api.get("/api/v1/payments/history", headers=member.auth))["items"], bool, what="payment"
    )
    refund = api.post(
        f"/api/v1/payments/{history[0]['id']}/refunds",
        headers={**admin.auth, "Idempotency-Key": str(uuid.uuid4())},
        json={"amount": 500, "reason": f"hardship {tag}: lost his job"},
    )
    assert refund.status_code in (200, 201, 202), refund.text

    # Circle life: a goal he set, a private note about him, a transfer he asked for.
    base = f"/api/v1/circles/{circle['id']}"
    today = datetime.now(UTC).date()
    ok(
        api.post(
            f"{base}/goals",
            headers=member.auth,
            json={
                "title": f"Forgive my brother {tag}",
                "period_start": today.isoformat(),
                "period_end": (today + timedelta(days=20)).isoformat(),
            },
        ),
        201,
    )
    when = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    meeting = ok(api.post(f"{base}/meetings", headers=admin.auth, json={"starts_at": when}), 201)["items"][0]
    ok(
        api.put(
            f"{base}/meetings/{meeting['id']}/attendance",
            headers=admin.auth,
            json={"records": [{"user_id": member.id, "status": "present", "note": f"his divorce {tag}"}]},
        )
    )
    other = new_circle(None)
    ok(
        api.post(
            f"{base}/transfer-requests",
            headers=member.auth,
            json={"to_circle_id": other["id"], "message": f"closer to my flat {tag}"},
        ),
        201,
    )

    # An event with questions and an age limit (answers, birth date), paid in cash with a note.
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    event = ok(
        api.post(
            "/api/v1/events",
            headers=admin.auth,
            json={
                "type": "workshop",
                "title": f"Retreat {tag}",
                "timezone": "Europe/Berlin",
                "location": {"city": "Berlin"},
                "capacity": 8,
                "starts_at": starts.isoformat(),
                "ends_at": (starts + timedelta(hours=3)).isoformat(),
                "price": {"amount": 4000, "currency": "EUR"},
                "requirements": [
                    {"kind": "min_age", "years": 18},
                    {"kind": "questions", "questions": [{"id": "why", "prompt": "Why?", "type": "text"}]},
                ],
            },
        ),
        201,
    )
    ok(api.post(f"/api/v1/events/{event['id']}/publish", headers=admin.auth))
    registration = ok(
        api.post(
            f"/api/v1/events/{event['id']}/registrations",
            headers=member.auth,
            json={"answers": {"why": f"my father died {tag}"}, "date_of_birth": "1979-02-03"},
        ),
        201,
    )
    fee = eventually(
        lambda: [o for o in obligations() if o.get("registration_id") == registration["id"]], bool, what="event fee"
    )[0]
    ok(
        api.post(
            f"/api/v1/payments/obligations/{fee['id']}/offline-payment",
            headers={**admin.auth, "Idempotency-Key": str(uuid.uuid4())},
            json={"amount": 4000, "method": "cash", "note": f"paid by his wife Anna {tag}"},
        ),
        201,
    )
    return member, circle, event


def staff_views(api: httpx.Client, admin: Person, member: Person, circle: dict, event: dict) -> str:
    """Everything staff can see of him through the API, as one text."""
    answers = [
        api.get("/api/v1/users", params={"email": member.email.split("@")[0]}, headers=admin.auth),
        api.get(f"/api/v1/users/{member.id}/overview", headers=admin.auth),
        api.get(f"/api/v1/circles/{circle['id']}/members", headers=admin.auth),
        api.get(f"/api/v1/events/{event['id']}/registrations", headers=admin.auth),
        api.get(f"/api/v1/payments/obligations?user_id={member.id}", headers=admin.auth),
    ]
    for response in answers:
        assert response.status_code == 200, f"{response.request.url.path}: {response.text}"
    return "\n".join(response.text for response in answers)


def test_erasure_leaves_nothing_listed_in_any_service(
    api: httpx.Client, platform: Platform, stripe: StripeStandIn, admin: Person
):
    tag = uuid.uuid4().hex[:8]
    member, circle, event = member_with_data_everywhere(api, platform, stripe, admin, tag)
    fields = privacy_fields()

    def export_complete(document: dict[str, Any]) -> bool:
        """Every event the services react to has arrived (the refund, the cash payment's note)."""
        payments = document["payments"]
        return bool(payments["refunds"]) and any(a["reason"] for a in payments["obligation_audit"])

    before = eventually(
        lambda: ok(api.get("/api/v1/auth/me/export", headers=member.auth)), export_complete, what="full export"
    )
    personal: set[str] = set()
    before_values: dict[str, list[Any]] = {}
    for field in fields:
        if "export" not in field:
            continue
        values = resolve(before, field["export"])  # KeyError: the doc names a field the export lacks
        before_values[field["field"]] = [value for value in values if meaningful(value)]
        if field["erasure"] != "kept":
            assert values, f"{field['field']}: nothing at {field['export']} before erasure"
        if field["erasure"] != "kept" and not field.get("choices"):
            personal.update(s for s in strings_in(values) if len(s) >= 6 and not _NOT_A_MARKER.match(s))
    # What the test planted is among what the list covers.
    planted = [
        member.email,
        member.display_name,
        f"Forgive my brother {tag}",
        f"his divorce {tag}",
        f"closer to my flat {tag}",
        f"my father died {tag}",
        "1979-02-03",
        f"paid by his wife Anna {tag}",
        f"hardship {tag}: lost his job",
    ]
    missing = [value for value in planted if value not in personal]
    assert not missing, f"planted values the privacy list does not cover: {missing}"
    assert staff_views(api, admin, member, circle, event).count(member.display_name) >= 1

    ok(
        api.post(f"/api/v1/users/{member.id}/erase", headers=admin.auth, json={"reason": f"his request {tag}"}),
        204,
    )

    def erased_everywhere() -> dict[str, Any]:
        return ok(api.get(f"/api/v1/users/{member.id}/export", params={"reason": "check"}, headers=admin.auth))

    def leftovers(document: Any) -> list[str]:
        text = document if isinstance(document, str) else json.dumps(document)
        return sorted(value for value in personal if value in text)

    deadline = time.monotonic() + 30  # circles and payments erase when user.erased reaches them
    after = erased_everywhere()
    while leftovers(after) and time.monotonic() < deadline:
        time.sleep(0.2)
        after = erased_everywhere()
    assert not leftovers(after), f"still in the export after erasure: {leftovers(after)}"
    for field in fields:
        if "export" not in field or field["erasure"] == "kept" or field.get("choices"):
            continue
        for value in resolve(after, field["export"]):
            # Field by field too (ids, timestamps and addresses are not in `personal`): no value
            # it held before comes back; rows added since (a system reason code) may remain.
            assert not (meaningful(value) and value in before_values[field["field"]]), (field["field"], value)
    assert not leftovers(staff_views(api, admin, member, circle, event)), "staff still see him"
    # The ledger is whole: his payments and refund are still there, amounts unchanged.
    assert [p["amount"] for p in after["payments"]["payments"]] == [p["amount"] for p in before["payments"]["payments"]]
    assert [r["amount"] for r in after["payments"]["refunds"]] == [r["amount"] for r in before["payments"]["refunds"]]
